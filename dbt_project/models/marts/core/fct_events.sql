{{ config(materialized='incremental', unique_key='message_id') }}
-- One row per Segment message, bots included and flagged. Human events with an anonymous id come from
-- int_events_sessionized (which carries every column of the event), the others from int_events_bot_flagged:
-- a union, not a join of the events with their sessions, whose hash table ran a 2GB DuckDB out of memory at
-- 10M events.
--
-- Incremental on the stamps of those two models: a run replaces the events they (re)wrote since the newest
-- dbt_updated_at this table holds, so a late event that bridges two sessions days ago, or a burst that turns
-- earlier events into bot traffic, lands here as a full refresh would place it.

with

sessionized as (
    select
        *,
        session_id as session_key,
        sessionized_at as dbt_updated_at
    from {{ ref('int_events_sessionized') }}
    {% if is_incremental() %}
    where sessionized_at > {{ newest_stamp_in_this('dbt_updated_at') }}
    {% endif %}
),

-- exactly the events int_events_sessionized leaves out
unsessionized as (
    select
        *,
        cast(null as {{ dbt.type_string() }}) as session_key,
        judged_at as dbt_updated_at
    from {{ ref('int_events_bot_flagged') }}
    where (non_human_reason is not null or anonymous_id is null)
    {% if is_incremental() %}
        and judged_at > {{ newest_stamp_in_this('dbt_updated_at') }}
    {% endif %}
)

{% for part in ['sessionized', 'unsessionized'] %}
select
    message_id,
    session_key,
    anonymous_id,
    user_id,
    event_type,
    event_name,
    case when product_id is not null then {{ surrogate_key(['product_id']) }} end as product_key,
    page_path,
    occurred_at,
    cast(occurred_at as date) as event_date,
    received_at,
    non_human_reason is null as is_human,
    non_human_reason,
    dbt_updated_at
from {{ part }}
{% if not loop.last %}union all{% endif %}
{% endfor %}
