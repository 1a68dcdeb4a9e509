"""The first step of a batch: which lines are records at all, and which fields of theirs the spec does not declare.

A batch of valid UTF-8 (nearly always) reaches DuckDB as an Arrow string column, zero-copy; a batch with invalid
bytes is decoded line by line instead, and its undecodable lines get a NULL text.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from ingestion.landing.lines import Chunk
from ingestion.landing.sql import list_lit, lit
from ingestion.spec import TableSpec


@dataclass(frozen=True)
class Classified:
    """What `classify` found besides its tables."""

    nonrecords: int
    """Lines that are no record: bad ones (with a reason) and blank ones."""
    pointers: list[str]
    """The object paths the spec reads, in `spec.object_paths()` order."""
    unknown: dict[tuple[int, str], int]
    """(index into `pointers`, key) of each field the spec does not declare -> records holding it."""


def classify(con: duckdb.DuckDBPyConnection, spec: TableSpec, lines: pa.Table, chunks: Sequence[Chunk]) -> Classified:
    """src: every line as text (rid, file_idx, line_no, txt); nonrecord: lines that are no JSON object, and those
    of chunks to quarantine whole (`Chunk.quarantine`), with the reason, and blank lines (not records) with a
    NULL reason; and the fields of the objects' read paths that the spec does not declare (drift).

    Reads the batch's `chunk_lines` (rid, file_idx, line_no, line), registered by the reader.
    """
    try:
        text = lines.set_column(3, "txt", lines.column("line").cast(pa.large_string()))
    except pa.ArrowInvalid:
        text = None
    if text is not None:
        con.register("chunk_text", text)
        con.execute("CREATE OR REPLACE TEMP VIEW src AS SELECT rid, file_idx, line_no, txt FROM chunk_text")
    else:
        con.execute("""
            CREATE OR REPLACE TEMP TABLE decoded AS
            SELECT rid, file_idx, line_no, try(decode(line)) AS txt FROM chunk_lines
        """)
        con.execute("CREATE OR REPLACE TEMP VIEW src AS SELECT * FROM decoded")
    # One parse per line answers both questions: is it a JSON object (else why not), and which keys do
    # the objects the spec reads have (the batch's few distinct shapes, for drift). The shapes are
    # grouped as JSON text: hashing and comparing a string is cheaper than a list of lists.
    paths = spec.object_paths()
    pointers = list(paths)
    forced = "".join(
        f" WHEN file_idx = {i} THEN {lit(chunk.quarantine)}" for i, chunk in enumerate(chunks) if chunk.quarantine
    )
    groups = con.execute(f"""
        SELECT kind, to_json(shape) AS shape, count(*), list(rid) FILTER (WHERE kind <> 'object')
        FROM (SELECT rid, try(json_keys(txt, {list_lit(p or "$" for p in pointers)})) AS shape,
                     CASE WHEN regexp_full_match(txt, '[ \t\r\n]*') THEN 'blank'{forced}
                          WHEN txt IS NULL THEN 'invalid UTF-8'
                          WHEN shape IS NULL THEN 'not valid JSON'
                          WHEN NOT regexp_matches(txt, '^[ \t\r\n]*[{{]') THEN 'not a JSON object'
                          ELSE 'object' END AS kind
              FROM src)
        GROUP BY kind, shape
    """).fetchall()
    bad_rids, bad_reasons = [], []
    unknown: dict[tuple[int, str], int] = {}
    for kind, shape, records, rids in groups:
        if kind == "object":
            for i, keys in enumerate(json.loads(shape)):
                for key in keys or ():
                    if key not in paths[pointers[i]]:
                        unknown[i, key] = unknown.get((i, key), 0) + records
        else:
            bad_rids += rids
            bad_reasons += [None if kind == "blank" else kind] * len(rids)
    rows = pa.table({"rid": pa.array(bad_rids, pa.int64()), "reason": pa.array(bad_reasons, pa.string())})
    con.register("nonrecord_rows", rows)
    con.execute("CREATE OR REPLACE TEMP TABLE nonrecord AS SELECT * FROM nonrecord_rows")
    con.unregister("nonrecord_rows")
    return Classified(len(bad_rids), pointers, unknown)
