"""Output: rotating JSON-lines parts per entity, ground-truth CSVs and the manifest.

Everything is written through buffered handles as it is produced (constant memory at any scale). File names
sort in delivery order, as docs/contracts.md section 1 requires: `<entity>-b<batch:04d>-p<part:04d>.jsonl`, or
`.jsonl.gz` when gzip-compressed (as Segment's S3 exports arrive).
"""

from __future__ import annotations

import csv
import json
import zlib
from pathlib import Path
from typing import IO, Any

import orjson

ENTITY_DIRS: dict[str, str] = {
    "contacts": "crm/contacts",
    "customers": "shop/customers",
    "orders": "shop/orders",
    "products": "shop/products",
    "checkouts": "shop/checkouts",
    "events": "analytics/events",
    "members": "mailchimp/members",
    "email_activity": "mailchimp/email_activity",
    "users": "helpdesk/users",
    "tickets": "helpdesk/tickets",
    "ticket_comments": "helpdesk/ticket_comments",
}
"""Entity name -> directory under the landing dir; the row counts in results use the directory as key."""

TRUTH_DIR = "_truth"
MANIFEST = "manifest.json"
TRUTH_HEADERS: dict[str, tuple[str, ...]] = {
    "identity.csv": ("source_system", "source_id", "person_id"),
    "bots.csv": ("anonymous_id", "is_bot", "reason"),
    "invalid.csv": ("source_system", "source_id", "field", "reason"),
    "fuzzy_pairs.csv": (
        "source_system",
        "source_id",
        "other_source_system",
        "other_source_id",
        "person_id",
        "evidence",
    ),
    "households.csv": ("household_id", "person_id", "shared"),
    "record_dirt.csv": ("source_system", "source_id", "field", "kind", "true_value"),
}
_BUFFER_BYTES = 1 << 20
GZIP_LEVEL = 1
"""zlib level of gzip parts: the fastest, since the JSON compresses well at any level (docs/performance.md)."""


class _GzipHandle:
    """A binary file handle that writes one gzip member: no name and no time in the header, so the same input
    gives byte-identical files, and the buffer is compressed in 1 MiB steps."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("wb")
        self._deflate = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)  # 31: gzip header and trailer
        self._buffer = bytearray()

    def write(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) >= _BUFFER_BYTES:
            self._file.write(self._deflate.compress(self._buffer))
            self._buffer.clear()

    def close(self) -> None:
        self._file.write(self._deflate.compress(self._buffer) + self._deflate.flush())
        self._file.close()


class PartWriter:
    """JSON lines for one entity and batch, starting a new part file every `part_lines` lines."""

    def __init__(self, directory: Path, entity: str, batch: int, part_lines: int, gzip: bool = False) -> None:
        self.directory = directory
        self.entity = entity
        self.batch = batch
        self.part_lines = part_lines
        self.gzip = gzip
        self.rows = 0
        self._part = -1
        self._lines_in_part = 0
        self._handle: IO[bytes] | _GzipHandle | None = None

    def write(self, record: dict[str, Any]) -> None:
        self.write_line(orjson.dumps(record))

    def write_line(self, line: bytes) -> None:
        """Write an already serialized record (re-deliveries repeat the exact bytes)."""
        if self._handle is None or self._lines_in_part >= self.part_lines:
            self._rotate()
        assert self._handle is not None
        self._handle.write(line + b"\n")
        self._lines_in_part += 1
        self.rows += 1

    def _rotate(self) -> None:
        self.close()
        self._part += 1
        self._lines_in_part = 0
        path = self.directory / f"{self.entity}-b{self.batch:04d}-p{self._part:04d}.jsonl"
        if self.gzip:
            self._handle = _GzipHandle(path.with_name(path.name + ".gz"))
        else:
            self._handle = path.open("wb", buffering=_BUFFER_BYTES)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


class TruthWriter:
    """Appends rows to one ground-truth CSV, writing the header when the file is new."""

    def __init__(self, path: Path) -> None:
        is_new = not path.exists()
        self._handle = path.open("a", newline="", encoding="utf-8", buffering=_BUFFER_BYTES)
        self._csv = csv.writer(self._handle, lineterminator="\n")
        self.name = path.name
        self.rows = 0
        if is_new:
            self._csv.writerow(TRUTH_HEADERS[path.name])

    def write(self, *values: object) -> None:
        self._csv.writerow(values)
        self.rows += 1

    def close(self) -> None:
        self._handle.close()


class Outputs:
    """All writers of one batch, opened together and closed together."""

    def __init__(self, out_dir: Path, batch: int, part_lines: int, gzip: bool = False) -> None:
        self.parts: dict[str, PartWriter] = {}
        from demo_data.esp.pages import ReportPages  # saved API responses, not lines

        for entity, subdir in ENTITY_DIRS.items():
            directory = out_dir / subdir
            directory.mkdir(parents=True, exist_ok=True)
            writer = ReportPages if entity == "email_activity" else PartWriter
            self.parts[entity] = writer(directory, entity, batch, part_lines, gzip)
        truth = out_dir / TRUTH_DIR
        truth.mkdir(parents=True, exist_ok=True)
        self.identity = TruthWriter(truth / "identity.csv")
        self.bots = TruthWriter(truth / "bots.csv")
        self.invalid = TruthWriter(truth / "invalid.csv")
        self.fuzzy_pairs = TruthWriter(truth / "fuzzy_pairs.csv")
        self.households = TruthWriter(truth / "households.csv")
        self.record_dirt = TruthWriter(truth / "record_dirt.csv")

    def row_counts(self) -> dict[str, int]:
        return {ENTITY_DIRS[entity]: writer.rows for entity, writer in self.parts.items()}

    def truth_row_counts(self) -> dict[str, int]:
        return {truth.name: truth.rows for truth in self._truths()}

    def close(self) -> None:
        for writer in self.parts.values():
            writer.close()
        for truth in self._truths():
            truth.close()

    def _truths(self) -> tuple[TruthWriter, ...]:
        return (self.identity, self.bots, self.invalid, self.fuzzy_pairs, self.households, self.record_dirt)


def remove_generation(out_dir: Path) -> None:
    """Delete the files an earlier generation wrote here (and only those), so a new base does not mix
    with it."""
    for subdir in ENTITY_DIRS.values():
        for pattern in ("*.jsonl", "*.jsonl.gz", "*.json"):
            for path in (out_dir / subdir).glob("*-b[0-9][0-9][0-9][0-9]-p[0-9][0-9][0-9][0-9]" + pattern[1:]):
                path.unlink()
    for name in (*TRUTH_HEADERS, MANIFEST):
        (out_dir / TRUTH_DIR / name).unlink(missing_ok=True)


def read_manifest(out_dir: Path) -> dict[str, Any] | None:
    path = out_dir / TRUTH_DIR / MANIFEST
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def write_manifest(out_dir: Path, manifest: dict[str, Any]) -> None:
    """Written last and atomically: a manifest exists only for a generation whose files are complete."""
    path = out_dir / TRUTH_DIR / MANIFEST
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
