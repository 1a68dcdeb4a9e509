{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key='message_id',
        on_schema_change='fail',
    )
}}
-- One row per Segment message, bots included and flagged. Incremental: each run re-reads the last
-- var events_lookback_days of events (by occurred_at) and merges them on message_id, so events arriving
-- late within that window land with the same session as a full refresh would give them.
with

events as (
    select * from {{ ref('int_events_bot_flagged') }}
    {% if is_incremental() %}
    where occurred_at >= (
        select {{ dbt.dateadd('day', -1 * var('events_lookback_days'), 'max(occurred_at)') }} from {{ this }}
    )
    {% endif %}
),

sessions as (
    select message_id, session_id from {{ ref('int_events_sessionized') }}
)

select
    events.message_id,
    sessions.session_id as session_key,
    events.anonymous_id,
    events.user_id,
    events.event_type,
    events.event_name,
    case when events.product_id is not null then {{ surrogate_key(['events.product_id']) }} end as product_key,
    events.page_path,
    events.occurred_at,
    cast(events.occurred_at as date) as event_date,
    events.received_at,
    events.non_human_reason is null as is_human,
    events.non_human_reason
from events
left join sessions on events.message_id = sessions.message_id
