"""Email-activity landing files: saved report pages (`GET /3.0/reports/{campaign_id}/email-activity`), one
`.json` document of at most `PAGE_SIZE` email records per file, each page of one campaign, as an export of the
API would save them. Records are buffered per campaign (a batch holds few campaigns), so memory stays bounded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from demo_data.writers import PartWriter

PAGE_SIZE = 1000
"""The API's largest page."""


class ReportPages(PartWriter):
    """A `PartWriter` whose parts are report pages (`<entity>-b<batch>-p<part>.json`); `rows` counts the email
    records written. Not gzipped: a saved API response travels as it was answered."""

    def __init__(self, directory: Path, entity: str, batch: int, part_lines: int, gzip: bool = False) -> None:
        super().__init__(directory, entity, batch, min(part_lines, PAGE_SIZE), gzip=False)
        self._pages: dict[str, list[dict[str, Any]]] = {}

    def write(self, record: dict[str, Any]) -> None:
        page = self._pages.setdefault(record["campaign_id"], [])
        page.append(record)
        self.rows += 1
        if len(page) >= self.part_lines:
            self._flush(record["campaign_id"])

    def write_line(self, line: bytes) -> None:
        self.write(orjson.loads(line))

    def _flush(self, campaign: str) -> None:
        emails = self._pages.pop(campaign)
        self._part += 1
        path = self.directory / f"{self.entity}-b{self.batch:04d}-p{self._part:04d}.json"
        body = {"emails": emails, "campaign_id": campaign, "total_items": len(emails)}
        path.write_bytes(orjson.dumps(body))

    def close(self) -> None:
        for campaign in sorted(self._pages):
            self._flush(campaign)
