"""Segment files for ESPs without an API: one CSV and one Parquet file per segment.

An export is a send too: it applies the same re-checks as the sync (consent, erasure ledger, valid and unique
email), so a file never holds someone the API sync would not send. Each file is written beside its final name
and renamed into place, so an upload job never picks up half a file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from activation.audience import Audience, load_audience
from core.settings import Settings
from privacy.ledger import ErasureLedger

EXPORT_COLUMNS = ("email", "first_name", "last_name", "country_code", "segment", "reason", "since")


@dataclass(frozen=True)
class SegmentExport:
    segment: str
    rows: int
    csv_path: Path
    parquet_path: Path


def file_stem(segment: str) -> str:
    """A segment name as a file name: lower-case letters, digits and _ only."""
    stem = re.sub(r"[^a-z0-9]+", "_", segment.lower()).strip("_")
    return stem or "segment"


def export_segments(out_dir: Path, settings: Settings) -> list[SegmentExport]:
    """Write `<segment>.csv` and `<segment>.parquet` into `out_dir` for every segment of eligible members."""
    audience = load_audience(settings.serving_path, ErasureLedger(settings))
    return write_segments(audience, out_dir)


def write_segments(audience: Audience, out_dir: Path) -> list[SegmentExport]:
    names = {m.email: m.merge_fields for m in audience.eligible.values()}
    by_segment: dict[str, list[dict[str, object]]] = {}
    for row in sorted(audience.segment_rows, key=lambda r: (str(r["segment"]), r["email"])):
        fields = names[row["email"]]
        by_segment.setdefault(str(row["segment"]), []).append(
            {
                "email": row["email"],
                "first_name": fields["FNAME"] or None,
                "last_name": fields["LNAME"] or None,
                "country_code": fields["COUNTRY"] or None,
                "segment": row["segment"],
                "reason": row["reason"],
                "since": row["since"],
            }
        )
    stems = [file_stem(s) for s in by_segment]
    clashes = {s for s in stems if stems.count(s) > 1}
    if clashes:
        raise ValueError(f"segment names that map to the same file name: {', '.join(sorted(clashes))}")
    out_dir.mkdir(parents=True, exist_ok=True)
    exports = []
    for segment, rows in by_segment.items():
        table = pa.Table.from_pylist(rows)  # types as the serving copy has them
        stem = file_stem(segment)
        csv_path, parquet_path = out_dir / f"{stem}.csv", out_dir / f"{stem}.parquet"
        _atomic(csv_path, lambda tmp, t=table: pa_csv.write_csv(t, tmp))
        _atomic(parquet_path, lambda tmp, t=table: pq.write_table(t, tmp))
        exports.append(SegmentExport(segment, len(rows), csv_path, parquet_path))
    return exports


def _atomic(path: Path, write: Callable[[str], None]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(str(tmp))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
