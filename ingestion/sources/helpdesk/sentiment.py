"""The sentiment of ticket comments, scored once when they load: VADER (vaderSentiment), English only.

VADER is a lexicon and rules for English social-media text (Hutto & Gilbert, 2014; MIT): a valence per word,
adjusted for negation, intensifiers, capitals, "but" and punctuation, summed into a `compound` score in
[-1, 1]. It runs in Python, so it runs here, beside the load that brought the comments, not in dbt: a comment is
scored once, and dbt reads the scores as a table of the helpdesk source (`ticket_comments__sentiment`, whose
raw asset is the comments': ingestion/sources/helpdesk). Text in another language gets a score too, mostly
near 0 (its words are not in the lexicon): dbt keeps only the scores of comments whose author writes in English
(`int_customers_support_summarized`), so no one is called happy or unhappy from a lexicon of another language.

A comment is scored again when its body changes (Zendesk redacts text under the same id); a score whose comment
is gone (erased, or dropped by a full refresh) is deleted, so the table never outlives its comments.
"""

from __future__ import annotations

import logging
from functools import cache

import duckdb
import pyarrow as pa

log = logging.getLogger(__name__)

DATASET = "raw_helpdesk"
COMMENTS = "ticket_comments"
SCORES = "ticket_comments__sentiment"
ANALYZER = "vaderSentiment 3.3.2"
"""Written with every score: a score of another analyzer (or version) is a different number."""

_DDL = f"""
create table if not exists "{DATASET}"."{SCORES}" (
    comment_id bigint primary key,
    ticket_id bigint,
    author_id bigint,
    body_md5 varchar,          -- the body scored: a redacted comment is scored again
    compound double,           -- VADER's normalized sum of valences, -1 (most negative) to 1 (most positive)
    positive double,
    neutral double,
    negative double,
    analyzer varchar,
    scored_at timestamptz
)
"""


@cache
def _analyzer():  # noqa: ANN202 - vaderSentiment has no type hints
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def score_new_comments(con: duckdb.DuckDBPyConnection) -> int:
    """Score the comments of `raw_helpdesk.ticket_comments` not scored yet (or changed since); returns how many.

    Does nothing before the comments table exists. Runs in one transaction on the caller's connection.
    """
    with con.cursor() as cur:
        present = cur.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [DATASET, COMMENTS],
        ).fetchone()[0]
        if not present:
            return 0
        cur.execute("begin transaction")
        try:
            count = _score(cur)
        except BaseException:
            cur.execute("rollback")
            raise
        cur.execute("commit")
    log.info("helpdesk: %d comments scored for sentiment", count)
    return count


def _score(cur: duckdb.DuckDBPyConnection) -> int:
    """Drop the scores of comments gone or changed, score the comments without one; returns how many."""
    cur.execute(_DDL)
    cur.execute(f"""
        delete from "{DATASET}"."{SCORES}" where comment_id in (
            select s.comment_id from "{DATASET}"."{SCORES}" s
            left join "{DATASET}"."{COMMENTS}" c on c.id = s.comment_id and md5(coalesce(c.body, '')) = s.body_md5
            where c.id is null
        )
    """)  # fmt: skip
    todo = cur.execute(f"""
        select c.id, c.ticket_id, c.author_id, coalesce(c.body, '') as body
        from "{DATASET}"."{COMMENTS}" c
        anti join "{DATASET}"."{SCORES}" s on s.comment_id = c.id
        where c.id is not null
    """).fetch_arrow_table()  # fmt: skip
    scores = [_analyzer().polarity_scores(body) for body in todo.column("body").to_pylist()]
    scored = pa.table({
        "comment_id": todo.column("id"), "ticket_id": todo.column("ticket_id"),
        "author_id": todo.column("author_id"),
        "body": todo.column("body"),
        "compound": pa.array([s["compound"] for s in scores], pa.float64()),
        "positive": pa.array([s["pos"] for s in scores], pa.float64()),
        "neutral": pa.array([s["neu"] for s in scores], pa.float64()),
        "negative": pa.array([s["neg"] for s in scores], pa.float64()),
    })  # fmt: skip
    cur.register("scored", scored)
    cur.execute(f"""
        insert into "{DATASET}"."{SCORES}"
        select comment_id, ticket_id, author_id, md5(body), compound, positive, neutral, negative,
               '{ANALYZER}', now()
        from scored
    """)  # fmt: skip
    cur.unregister("scored")
    return len(scores)
