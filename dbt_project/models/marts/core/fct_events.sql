{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key='message_id',
        on_schema_change='fail',
    )
}}
-- One row per Segment message, bots included and flagged. Incremental on the stamps of the event models
-- upstream: a run merges the events that int_events_bot_flagged judged or int_events_sessionized
-- (re)sessionized since the newest stamp this table holds, so a late event that bridges two sessions days ago,
-- or a burst that turns earlier events into bot traffic, lands here as a full refresh would place it.
{%- set changed_since -%}
    (select coalesce(max(dbt_updated_at), cast('1900-01-01' as {{ dbt.type_timestamp() }})) from {{ this }})
{%- endset %}

with

{% if is_incremental() %}
changed as (
    select message_id from {{ ref('int_events_bot_flagged') }} where judged_at > {{ changed_since }}
    union
    select message_id from {{ ref('int_events_sessionized') }} where sessionized_at > {{ changed_since }}
),
{% endif %}

events as (
    select * from {{ ref('int_events_bot_flagged') }}
    {% if is_incremental() %}
    where message_id in (select message_id from changed)
    {% endif %}
),

sessions as (
    select message_id, session_id, sessionized_at from {{ ref('int_events_sessionized') }}
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
    events.non_human_reason,
    case
        when sessions.sessionized_at > events.judged_at then sessions.sessionized_at
        else events.judged_at
    end as dbt_updated_at
from events
left join sessions on events.message_id = sessions.message_id
