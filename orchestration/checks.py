"""Quality gates: Great Expectations 1.x suites run as Dagster asset checks on raw tables and marts.

dagster-ge only supports GX 0.x and GX's SQL datasource does not work on DuckDB. A suite is declared as data
(`Suite`): the asset it guards, the SQL of the rows it judges, and its GX expectations; `build_checks` turns each
into an `@asset_check`. No check reads its rows into pandas (a raw event table is tens of millions of rows):
DuckDB counts, over every row, what each expectation judges and what fails it (`orchestration.check_queries`),
GX validates that frame of counts against each expectation's `mostly`, and at most SAMPLE_ROWS failing rows per
failed expectation are read, for the result's sample. Counts are exact; only the sample is bounded.

Sized to the run: a raw suite judges the rows this run's loads wrote (dlt load ids from the run's start on),
except in the daily full build and a full refresh, which judge every row
(`orchestration.automation.checks_read_whole_tables`): a raw event table only grows, and its suite need not count
all of it every few minutes. Mart suites always read whole tables: a profile unique among the new ones only is
not unique, and a mart holds a row per customer, not per event.

Severity follows the layer (docs/quality.md). Raw suites warn: row-level dirt is flagged in staging and counted,
and their thresholds (`mostly`) tell a dirty feed from a broken one without stopping the run. Mart suites guard
what would corrupt email or BI (duplicate profiles, unknown consent, a collapsing segment) and are blocking: if
one fails, nothing downstream of its asset materializes in that run, and the automation waits
(`all_deps_blocking_checks_passed`). A table that does not exist yet (a system whose first delivery has not
come) is reported as "no data yet", not an error. Results carry per-expectation counts and a few failing rows,
masked: Dagster metadata is visible to everyone with UI access, so no emails, phones or names. What is masked is
what the dbt YAML declares personal (`meta: {pii: ...}`, read through `privacy.registry`), and an email is valid
by the one rule staging applies (`core.email.EMAIL_PATTERN`, dbt's `email_pattern()`).
"""

import hashlib
import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pandas as pd

from core.email import EMAIL_PATTERN
from core.settings import Settings
from orchestration.automation import checks_read_whole_tables
from orchestration.check_queries import counts_sql, failing_rows_sql, literal, rule
from orchestration.resources import WAREHOUSE_POOL, WarehouseResource, dbt_project
from privacy.registry import read_registry

log = logging.getLogger(__name__)

SAMPLE_ROWS = 5
"""Failing rows shown per failed expectation, and the most rows of a table a check reads into pandas."""


def personal_columns(settings: Settings) -> frozenset[str]:
    """Every column name the registry declares personal on some relation (a raw table's `id` is a contact's or
    customer's id). Masked wherever a frame shows it, since a suite's SQL may alias and join: the name decides,
    not the relation. Ids of people are masked too: Dagster's event log keeps metadata forever, beyond the reach
    of an erasure."""
    return frozenset(c.column for c in read_registry(dbt_project.manifest_path, settings).columns)


FUTURE_TOLERANCE = "INTERVAL 10 MINUTE"
"""Clock skew tolerated before a timestamp counts as 'in the future'."""

SEGMENT_RATIO_BOUNDS = (0.5, 2.0)
"""A segment may halve or double between two publishes; more is a broken rule or feed, not growth."""
SEGMENT_MIN_BASELINE = 20
"""Segments smaller than this in the previous publish are too noisy to compare."""

LOADED_IN_THIS_RUN = "TRUE /* loaded in this run */"
"""A raw suite's condition on the rows of a raw table it judges: true (every row), or on a run that judges only
what it loaded, `_dlt_load_id` since the run started (`Suite.rows_sql`)."""

Expectations = Callable[[Any], list[Any]]
"""Given `great_expectations.expectations`, return the suite's expectations (GX is imported lazily: ~6 s)."""


@dataclass(frozen=True)
class Suite:
    name: str
    asset: Sequence[str]
    sql: str
    """The rows the expectations judge; DuckDB counts over it, pandas never holds it (a baseline suite's is an
    aggregate, small by construction)."""
    expectations: Expectations
    description: str
    blocking: bool = True
    baseline_sql: str | None = None
    """Optional: a frame read from the last published serving copy (the previous good run)."""
    combine: Callable[[pd.DataFrame, pd.DataFrame], pd.DataFrame] | None = None
    """With a baseline: how the current and the previous frame become the frame that is validated."""

    @property
    def sized(self) -> bool:
        """Whether the suite can judge only the rows a run loaded (`sql` marks its raw tables' rows with
        LOADED_IN_THIS_RUN)."""
        return LOADED_IN_THIS_RUN in self.sql

    def rows_sql(self, loaded_since: str | None) -> str:
        """The rows judged: every row of `sql`, or with `loaded_since` (a dlt load id) those of loads since.
        dlt's load ids are the load's start in epoch seconds, so text order is time order; DuckDB pushes the
        comparison into the scan and skips the row groups of older loads by their min/max."""
        if loaded_since is None:
            return self.sql
        return self.sql.replace(LOADED_IN_THIS_RUN, f"_dlt_load_id > {literal(loaded_since)}")


def mask(value: object) -> object:
    """First character and a short hash: tells two failing rows apart, identifies nobody."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    text = str(value)
    return f"{text[:1]}…{hashlib.sha256(text.encode()).hexdigest()[:6]}"


def masked_rows(frame: pd.DataFrame, personal: Collection[str]) -> list[dict[str, object]]:
    """A few failing rows as JSON-ready dicts, the `personal` columns masked."""
    return [
        {column: mask(value) if column in personal else _jsonable(value) for column, value in record.items()}
        for record in frame.head(SAMPLE_ROWS).to_dict(orient="records")
    ]


def _jsonable(value: object) -> object:
    if value is None or (not isinstance(value, list | dict) and pd.isna(value)):
        return None
    if isinstance(value, int | float | bool | str):
        return value
    return str(value)


def fetch(connection: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    """Every frame a check reads from DuckDB: a row of counts, at most SAMPLE_ROWS failing rows of one
    expectation, or a baseline suite's aggregates (a row per segment). Never a table's rows."""
    return connection.execute(sql).df()


def evaluate(
    suite: Suite,
    connection: duckdb.DuckDBPyConnection,
    relation: str,
    personal: Collection[str],
    scope: str = "whole table",
) -> dg.AssetCheckResult:
    """The suite over every row of `relation` (SQL), counted by DuckDB; GX judges the counts against each
    expectation's `mostly`. Only the counts and SAMPLE_ROWS failing rows per failed expectation reach pandas.
    `scope` says in the result which rows `relation` is (the whole table, or those this run loaded)."""
    import great_expectations as gx

    rules = [rule(expectation) for expectation in suite.expectations(gx.expectations)]
    counts = fetch(connection, counts_sql(relation, rules)).iloc[0]
    rows = int(counts["rows"])
    shares = pd.DataFrame(
        {
            "judged": [int(counts[f"judged_{i}"]) for i in range(len(rules))],
            "unexpected": [int(counts[f"unexpected_{i}"]) for i in range(len(rules))],
            "mostly": [r.mostly for r in rules],
        }
    )
    # GX's rule: the share of judged rows that pass; vacuously 1 when no row is judged.
    shares["passing_share"] = ((shares["judged"] - shares["unexpected"]) / shares["judged"]).where(
        shares["judged"] > 0, 1.0
    )
    failing = judged_failing(suite.name, shares)

    results: dict[str, Any] = {}
    failed: dict[str, Any] = {}
    for i, r in enumerate(rules):
        summary: dict[str, Any] = {
            "success": i not in failing,
            "checked": rows,
            "unexpected": int(shares.at[i, "unexpected"]),
        }
        if r.bounded:
            summary["observed"] = {"min": _jsonable(counts[f"min_{i}"]), "max": _jsonable(counts[f"max_{i}"])}
        results[r.label] = summary
        if i in failing:
            failed[r.label] = masked_rows(fetch(connection, failing_rows_sql(relation, r, SAMPLE_ROWS)), personal)
    unexpected = [f"{label}: {results[label]['unexpected']} of {rows} rows" for label in failed]
    empty = "no data yet: the table is empty" if scope == "whole table" else f"nothing to check: no {scope}"
    description = empty if rows == 0 else "; ".join(unexpected) or None
    return dg.AssetCheckResult(
        passed=not failing,
        severity=dg.AssetCheckSeverity.ERROR if suite.blocking else dg.AssetCheckSeverity.WARN,
        description=description,
        metadata={
            "status": empty.split(":")[0] if rows == 0 else ("passed" if not failing else "failed"),
            "rows": rows,
            "scope": scope,
            "expectations": len(results),
            "failed_expectations": len(failed),
            "results": dg.MetadataValue.json(results),
            "failing_rows_sample": dg.MetadataValue.json(failed),
        },
    )


def judged_failing(name: str, shares: pd.DataFrame) -> set[int]:
    """GX validates the frame of counts, one row per expectation: its passing share must reach its `mostly`.
    Returns the rows (expectations) that fail."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch = (
        context.data_sources.add_pandas("warehouse")
        .add_dataframe_asset(name)
        .add_batch_definition_whole_dataframe("whole")
    )
    suite = context.suites.add(gx.ExpectationSuite(name=name))
    suite.add_expectation(
        gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="passing_share", column_B="mostly", or_equal=True
        )
    )
    validation = context.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch, suite=suite))
    outcome = validation.run(batch_parameters={"dataframe": shares}, result_format={"result_format": "COMPLETE"})
    (result,) = outcome.results
    return set(result.result.get("unexpected_index_list") or [])


def validate(suite: Suite, frame: pd.DataFrame, personal: Collection[str]) -> dg.AssetCheckResult:
    """The suite over a frame already in memory (a baseline comparison: one row per segment), through the same
    DuckDB counts as a warehouse table."""
    connection = duckdb.connect()
    try:
        connection.register("suite_frame", frame)
        return evaluate(suite, connection, "SELECT * FROM suite_frame", personal)
    finally:
        connection.close()


def read_compared_frame(suite: Suite, warehouse: WarehouseResource) -> pd.DataFrame:
    """A baseline suite's frame: its current aggregate combined with the previous serving copy's (both small:
    `sql` and `baseline_sql` aggregate in DuckDB)."""
    assert suite.baseline_sql is not None and suite.combine is not None
    with warehouse.read_only() as connection:
        frame = fetch(connection, suite.sql)
        # Before the first publish there is nothing to compare with: an empty baseline of the right shape.
        empty_baseline = fetch(connection, f"SELECT * FROM ({suite.baseline_sql}) LIMIT 0")
    baseline = _read_baseline(warehouse.serving, suite.baseline_sql)
    return suite.combine(frame, empty_baseline if baseline is None else baseline)


def _read_baseline(serving: Path, sql: str) -> pd.DataFrame | None:
    """The previous publish's frame, or None before the first publish (or if the mart was not published)."""
    if not serving.exists():
        return None
    connection = duckdb.connect(str(serving), read_only=True)
    try:
        return fetch(connection, sql)
    except duckdb.CatalogException:
        return None
    finally:
        connection.close()


def build_checks(suites: Sequence[Suite]) -> list[dg.AssetChecksDefinition]:
    """One asset check per suite."""
    return [build_check(suite) for suite in suites]


def build_check(suite: Suite) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(list(suite.asset)),
        name=suite.name,
        description=suite.description,
        blocking=suite.blocking,
        pool=WAREHOUSE_POOL,
    )
    def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        personal = personal_columns(warehouse.settings)
        try:
            if suite.baseline_sql is None:
                since = loaded_since() if suite.sized else None
                scope = "whole table" if since is None else "rows loaded in this run"
                with warehouse.read_only() as connection:
                    return evaluate(suite, connection, suite.rows_sql(since), personal, scope)
            frame = read_compared_frame(suite, warehouse)
        except duckdb.CatalogException as error:
            return missing_table_result(suite, error)
        return validate(suite, frame, personal)

    return _check


def loaded_since() -> str | None:
    """The current run's start as a dlt load id (epoch seconds) when its checks judge the rows it wrote; None
    when they read whole tables, or outside a run (a check called directly). Every load of the run started
    after it."""
    try:
        context = dg.AssetCheckExecutionContext.get()
    except dg.DagsterInvariantViolationError:
        return None
    if checks_read_whole_tables(context.run.tags):
        return None
    record = context.instance.get_run_record_by_id(context.run.run_id)
    if record is None:
        return None
    return f"{record.start_time or record.create_timestamp.timestamp():.6f}"


def missing_table_result(suite: Suite, error: duckdb.CatalogException) -> dg.AssetCheckResult:
    """A suite whose table does not exist. Before a system's first delivery its raw tables are "no data yet",
    which is no fault of the data; a blocking suite's mart missing after its build is a failure, said plainly."""
    reason = str(error).strip().splitlines()[0].removeprefix("Catalog Error: ")
    if suite.blocking:
        return dg.AssetCheckResult(
            passed=False, severity=dg.AssetCheckSeverity.ERROR, description=f"table missing: {reason}",
            metadata={"rows": 0, "status": "table missing"},
        )  # fmt: skip
    return dg.AssetCheckResult(
        passed=True, severity=dg.AssetCheckSeverity.WARN, description=f"no data yet: {reason}",
        metadata={"rows": 0, "status": "no data yet"},
    )  # fmt: skip


# ----------------------------------------------------------------------------------------------------------
# Raw suites: what ingestion promises (docs/contracts.md section 2), with the feeds' real dirt rates. They warn:
# staging flags each bad value with a reason, and a share beyond `mostly` is an alert to look at the feed.
# ----------------------------------------------------------------------------------------------------------


def cleaned_email_sql(column: str) -> str:
    """SQL of the email as staging judges it (dbt's `clean_email`: edge whitespace trimmed, lower-cased, blank as
    null), so EMAIL_PATTERN means here what it means in staging."""
    return f"lower(nullif(regexp_replace({column}, '^[[:space:]]+|[[:space:]]+$', '', 'g'), ''))"


RAW_SUITES: list[Suite] = [
    Suite(
        name="email_format_rate",
        asset=["raw_crm", "contacts"],
        sql=f"SELECT id, {cleaned_email_sql('email')} AS email FROM raw_crm.contacts WHERE {LOADED_IN_THIS_RUN}",
        expectations=lambda e: [e.ExpectColumnValuesToMatchRegex(column="email", regex=EMAIL_PATTERN, mostly=0.9)],
        description="At least 90% of CRM emails are valid (staging's rule): fewer is a broken export, not dirt.",
        blocking=False,
    ),
    Suite(
        name="email_format_rate",
        asset=["raw_shop", "customers"],
        sql=f"SELECT id, {cleaned_email_sql('email')} AS email FROM raw_shop.customers WHERE {LOADED_IN_THIS_RUN}",
        expectations=lambda e: [e.ExpectColumnValuesToMatchRegex(column="email", regex=EMAIL_PATTERN, mostly=0.9)],
        description="At least 90% of Shopify customer emails are valid (staging's rule).",
        blocking=False,
    ),
    Suite(
        name="valid_country_codes",
        asset=["raw_shop", "customers"],
        sql=f"""
            SELECT id, default_address__country_code AS country_code FROM raw_shop.customers
            WHERE {LOADED_IN_THIS_RUN}
        """,
        expectations=lambda e: [
            e.ExpectColumnValuesToMatchRegex(column="country_code", regex=r"^[A-Z]{2}$", mostly=0.95)
        ],
        description="Shopify country codes are ISO-3166 alpha-2 (95%; null addresses are not counted).",
        blocking=False,
    ),
    Suite(
        name="non_negative_prices",
        asset=["raw_shop", "orders"],
        sql=f"""
            SELECT id, 'order' AS kind, total_price AS price FROM raw_shop.orders WHERE {LOADED_IN_THIS_RUN}
            UNION ALL SELECT id, 'order subtotal', subtotal_price FROM raw_shop.orders WHERE {LOADED_IN_THIS_RUN}
            UNION ALL SELECT id, 'line item', price FROM raw_shop.orders__line_items WHERE {LOADED_IN_THIS_RUN}
        """,
        expectations=lambda e: [e.ExpectColumnValuesToBeBetween(column="price", min_value=0)],
        description="No order total, subtotal or line-item price is negative (refunds are separate rows).",
        blocking=False,
    ),
    Suite(
        name="no_future_timestamps",
        asset=["raw_shop", "orders"],
        sql=f"""
            SELECT id, created_at, created_at > now() + {FUTURE_TOLERANCE} AS is_future FROM raw_shop.orders
            WHERE {LOADED_IN_THIS_RUN}
        """,
        expectations=lambda e: [e.ExpectColumnValuesToBeInSet(column="is_future", value_set=[False])],
        description="No order was created in the future (beyond a few minutes of clock skew).",
        blocking=False,
    ),
    Suite(
        name="no_future_timestamps",
        asset=["raw_analytics", "events"],
        sql=f"""
            SELECT message_id, received_at, received_at > now() + {FUTURE_TOLERANCE} AS is_future
            FROM raw_analytics.events WHERE {LOADED_IN_THIS_RUN}
        """,
        expectations=lambda e: [e.ExpectColumnValuesToBeInSet(column="is_future", value_set=[False])],
        description="No event was received in the future (received_at is the collector's clock).",
        blocking=False,
    ),
    Suite(
        name="plausible_ages",
        asset=["raw_crm", "contacts"],
        sql=f"""
            SELECT id, date_of_birth,
                   date_diff('year', try_cast(date_of_birth AS DATE), current_date) AS age_years
            FROM raw_crm.contacts WHERE {LOADED_IN_THIS_RUN}
        """,
        expectations=lambda e: [
            e.ExpectColumnValuesToBeBetween(column="age_years", min_value=13, max_value=110, mostly=0.95)
        ],
        description="95% of parseable dates of birth give an age of 13-110; staging nulls the rest.",
        blocking=False,
    ),
    Suite(
        name="email_format_rate",
        asset=["raw_mailchimp", "members"],
        sql=f"""
            SELECT id, {cleaned_email_sql('email_address')} AS email FROM raw_mailchimp.members
            WHERE {LOADED_IN_THIS_RUN}
        """,
        expectations=lambda e: [e.ExpectColumnValuesToMatchRegex(column="email", regex=EMAIL_PATTERN, mostly=0.99)],
        description="99% of Mailchimp member emails are valid: Mailchimp refuses invalid addresses at signup.",
        blocking=False,
    ),
    Suite(
        name="known_member_statuses",
        asset=["raw_mailchimp", "members"],
        sql=f"SELECT id, status FROM raw_mailchimp.members WHERE {LOADED_IN_THIS_RUN}",
        expectations=lambda e: [
            e.ExpectColumnValuesToBeInSet(
                column="status",
                value_set=["subscribed", "unsubscribed", "cleaned", "pending", "transactional", "archived"],
            )
        ],
        description="Every member status is one Mailchimp documents: a new one would escape the consent rules.",
        blocking=False,
    ),
    Suite(
        name="no_future_timestamps",
        asset=["raw_mailchimp", "email_activity"],
        sql=f"""
            SELECT id, "timestamp", "timestamp" > now() + {FUTURE_TOLERANCE} AS is_future
            FROM raw_mailchimp.email_activity WHERE {LOADED_IN_THIS_RUN}
        """,
        expectations=lambda e: [e.ExpectColumnValuesToBeInSet(column="is_future", value_set=[False])],
        description="No open, click or bounce happened in the future (beyond a few minutes of clock skew).",
        blocking=False,
    ),
]


RAW_SUITES += [  # the helpdesk (Zendesk)
    Suite(
        name="email_format_rate",
        asset=["raw_helpdesk", "users"],
        sql=f"""
            SELECT id, {cleaned_email_sql('email')} AS email FROM raw_helpdesk.users
            WHERE coalesce(role, 'end-user') = 'end-user' AND {LOADED_IN_THIS_RUN}
        """,
        expectations=lambda e: [e.ExpectColumnValuesToMatchRegex(column="email", regex=EMAIL_PATTERN, mostly=0.9)],
        description="At least 90% of helpdesk end users' emails are valid (staging's rule): they write in by email.",
        blocking=False,
    ),
    Suite(
        name="known_ticket_statuses",
        asset=["raw_helpdesk", "tickets"],
        sql=f"SELECT id, status FROM raw_helpdesk.tickets WHERE {LOADED_IN_THIS_RUN}",
        expectations=lambda e: [
            e.ExpectColumnValuesToBeInSet(
                column="status", value_set=["new", "open", "pending", "hold", "solved", "closed", "deleted"]
            )
        ],
        description="Every ticket has one of Zendesk's statuses: an unknown one would count as neither open nor done.",
        blocking=False,
    ),
    Suite(
        name="no_future_timestamps",
        asset=["raw_helpdesk", "tickets"],
        sql=f"""
            SELECT id, updated_at, updated_at > now() + {FUTURE_TOLERANCE} AS is_future FROM raw_helpdesk.tickets
            WHERE {LOADED_IN_THIS_RUN}
        """,
        expectations=lambda e: [e.ExpectColumnValuesToBeInSet(column="is_future", value_set=[False])],
        description="No ticket was updated in the future (beyond a few minutes of clock skew).",
        blocking=False,
    ),
    Suite(
        name="every_comment_scored",
        asset=["raw_helpdesk", "ticket_comments"],
        sql="""
            SELECT c.id, s.compound FROM raw_helpdesk.ticket_comments c
            LEFT JOIN raw_helpdesk.ticket_comments__sentiment s ON s.comment_id = c.id
            WHERE c.id IS NOT NULL
        """,  # every comment, not only this run's: a load whose scoring failed is caught by the next run
        expectations=lambda e: [e.ExpectColumnValuesToNotBeNull(column="compound")],
        description="Every loaded comment has its sentiment score (scored right after the load).",
        blocking=False,
    ),
]


def segment_size_ratios(current: pd.DataFrame, previous: pd.DataFrame) -> pd.DataFrame:
    """Every segment of the last publish with its size now and the ratio of the two.

    Taken from the previous publish's side: a segment that has vanished (no member now, so no row in `current`)
    counts 0 members and fails; a new segment has no baseline and is not compared.
    """
    ratios = previous.merge(current, on="segment", how="left")
    ratios["customers"] = ratios["customers"].fillna(0).astype("int64")
    return ratios.assign(ratio=ratios["customers"] / ratios["previous_customers"])


# ----------------------------------------------------------------------------------------------------------
# Mart suites: what the email platform and BI rely on; they gate the serving copy.
# ----------------------------------------------------------------------------------------------------------
MART_SUITES: list[Suite] = [
    Suite(
        name="one_profile_per_customer",
        asset=["marts", "customer_profiles"],
        sql="SELECT customer_id, email FROM marts.customer_profiles",
        expectations=lambda e: [
            e.ExpectColumnValuesToBeUnique(column="customer_id"),
            e.ExpectColumnValuesToNotBeNull(column="customer_id"),
        ],
        description="Exactly one profile per customer_id: the email platform upserts on it.",
    ),
    Suite(
        name="scores_within_1_to_5",
        asset=["marts", "customer_profiles"],
        sql="SELECT customer_id, r_score, f_score, m_score FROM marts.customer_profiles",
        expectations=lambda e: [
            e.ExpectColumnValuesToBeBetween(column=score, min_value=1, max_value=5)
            for score in ("r_score", "f_score", "m_score")
        ],
        description="RFM scores are quintiles 1-5 (null for customers without orders).",
    ),
    Suite(
        name="consent_never_null",
        asset=["marts", "customer_profiles"],
        sql="SELECT customer_id, email, email_consent FROM marts.customer_profiles",
        expectations=lambda e: [e.ExpectColumnValuesToNotBeNull(column="email_consent")],
        description="Every profile says whether it may be emailed: unknown consent must never mean 'send'.",
    ),
    Suite(
        name="segment_sizes_within_bounds",
        asset=["marts", "customer_segments"],
        sql="SELECT segment_name AS segment, count(*) AS customers FROM marts.customer_segments GROUP BY 1",
        baseline_sql=f"""
            SELECT segment_name AS segment, count(*) AS previous_customers FROM marts.customer_segments GROUP BY 1
            HAVING count(*) >= {SEGMENT_MIN_BASELINE}
        """,
        combine=lambda current, previous: segment_size_ratios(current, previous),
        expectations=lambda e: [
            e.ExpectColumnValuesToBeBetween(
                column="ratio", min_value=SEGMENT_RATIO_BOUNDS[0], max_value=SEGMENT_RATIO_BOUNDS[1]
            )
        ],
        description=(
            "Each segment is within half to double its size in the last published serving copy "
            f"(segments under {SEGMENT_MIN_BASELINE} customers and the first publish are not compared)."
        ),
    ),
]
