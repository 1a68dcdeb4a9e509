{{
    config(
        materialized='incremental',
        incremental_strategy='append',
    )
}}
-- A table, not a view like the other staging models: every event model, the identity models and a dozen tests
-- read it, and as a view each of them parsed the JSON and de-duplicated all events again. Incremental on the
-- dlt load id: a run stages only the loads newer than the newest it holds (dlt gives every load a new, larger
-- id; events are never updated in raw: the ingestion loads each message_id once). Full refresh after changing
-- this model's logic.
--
-- Segment may deliver a message twice: the first receipt counts. The ingestion already loads each message_id
-- once, so repeats are rare: they are found on the narrow message_id alone (its hash first, repeated_values)
-- and only their later receipts are ranked, by their dlt row id. A row_number() over every event would hold
-- all columns of all events (JSON included) in the window: what ran DuckDB out of memory at 10M events.
--
-- The source is named in each CTE rather than in a shared one, which DuckDB would materialize in memory.
{%- set new_loads -%}
{{ source('analytics', 'events') }}
{%- if is_incremental() %} where {{ newer_dlt_loads_than_this() }}{% endif %}
{%- endset %}

with

repeated_messages as (
    select repeated_value as message_id
    from ({{ repeated_values('(select * from ' ~ new_loads ~ ') as new_loads', 'message_id') }}) as repeated
),

later_receipts as (
    select new_loads._dlt_id
    from (select * from {{ new_loads }}) as new_loads
    where new_loads.message_id in (select repeated_messages.message_id from repeated_messages)
    qualify
        row_number() over (
            partition by new_loads.message_id order by new_loads.received_at, new_loads._dlt_load_id
        ) > 1
),

first_received as (
    select source.*
    from (select * from {{ new_loads }}) as source
    left join later_receipts on source._dlt_id = later_receipts._dlt_id
    where later_receipts._dlt_id is null
    {% if is_incremental() %}
        -- a receipt of a message staged by an earlier run is a later one. not exists, not `not in`: DuckDB
        -- then hashes the new rows and streams this table's ids (0.15 s, not 0.48 s, for 490k new events
        -- against 10M), and a null id in this table could not make every new event vanish.
        and not exists (select 1 from {{ this }} as staged where staged.message_id = source.message_id)
    {% endif %}
),

in_utc as (
    select
        *,
        {{ to_utc_timestamp('"timestamp"') }} as timestamp_utc,
        {{ to_utc_timestamp('sent_at') }} as sent_at_utc,
        {{ to_utc_timestamp('received_at') }} as received_at_utc,
        {{ dlt_loaded_at() }} as loaded_at_utc,
        {{ try_cast(json_field_text('properties', 'product_id'), dbt.type_bigint()) }} as product_id_number
    from first_received
),

-- A device clock can be hours off: as Segment does, shift the client's timestamp by the gap between the
-- client's send time and the server's receive time (receivedAt - (sentAt - timestamp)). Events queued offline
-- keep their lateness: their sentAt is late too, the correction is only the skew. The shift is computed on the
-- naive UTC times: on zoned ones DuckDB asks ICU for every row (7.6 s at 10M events, a quarter of this model).
-- Not dbt.dateadd in microseconds: DuckDB multiplies that interval as a 32-bit number, which overflows past a
-- 35-minute skew (the unit test's 12 hours).
corrected as (
    select
        *,
        case when sent_at_utc is not null and received_at_utc is not null
                then received_at_utc - (sent_at_utc - timestamp_utc)
            else timestamp_utc
        end as corrected_at,
        -- the latest an event can have happened: its receipt, or its load when the receipt time is not credible
        case when {{ is_plausible_event_time('received_at_utc', 'loaded_at_utc') }}
                then received_at_utc
            else loaded_at_utc
        end as latest_possible_at
    from in_utc
)

select
    -- ids
    cast(message_id as varchar) as message_id,
    {{ clean_text('anonymous_id') }} as anonymous_id,
    {{ clean_text('user_id') }} as user_id,

    -- strings
    lower(type) as event_type,
    -- track events have an event name, pages a page name
    coalesce({{ clean_text('event') }}, {{ clean_text('name') }}) as event_name,
    {{ normalize_email(json_field_text('traits', 'email')) }} as traits_email,
    context__user_agent as user_agent,
    context__ip as ip,
    context__page__url as page_url,
    context__page__path as page_path,
    context__page__referrer as referrer,
    context__page__title as page_title,
    product_id_number as product_id,
    {{ clean_text(json_field_text('properties', 'category')) }} as product_category,
    properties,
    traits,

    -- timestamps (UTC). occurred_at is the skew-corrected time, else the client's own, else (no credible
    -- time, as Segment defaults a missing timestamp) the receipt: never a year 0001 or a time after receipt.
    case
        when {{ is_plausible_event_time('corrected_at', 'latest_possible_at') }} then corrected_at
        when {{ is_plausible_event_time('timestamp_utc', 'latest_possible_at') }} then timestamp_utc
        else latest_possible_at
    end as occurred_at,
    timestamp_utc as original_timestamp,
    sent_at_utc as sent_at,
    received_at_utc as received_at,
    loaded_at_utc as loaded_at,
    _dlt_load_id,

    -- what could not be kept, "; "-separated; null when clean
    {{ list_problems([
        "case when timestamp_utc is null then 'no timestamp' when not "
            ~ is_plausible_event_time('timestamp_utc', 'latest_possible_at') ~ " then 'implausible timestamp' end",
        "case when " ~ is_plausible_event_time('timestamp_utc', 'latest_possible_at') ~ " and not "
            ~ is_plausible_event_time('corrected_at', 'latest_possible_at') ~ " then 'implausible sentAt' end",
        "case when received_at_utc is not null and latest_possible_at <> received_at_utc then 'implausible receivedAt' end",
        problem_when_lost(json_field_text('properties', 'product_id'), 'product_id_number', 'non-numeric product_id'),
    ]) }} as invalid_reason

from corrected
