{{
    config(
        materialized='incremental',
        unique_key='message_id',
        pre_hook="{% if is_incremental() %}
            delete from {{ this }} where message_id in (
                {{ events_turned_non_human('message_id', since=newest_stamp_in_this('judged_at')) }})
            {% endif %}",
    )
}}
-- Human events grouped into sessions per anonymous id: more than var session_timeout_minutes of
-- inactivity starts a new session. A session is identified by its anonymous id and start time.
--
-- The windows run over the narrow (message_id, anonymous_id, occurred_at) only, and the session columns are
-- joined back to the events by message_id (unique): a window over `select *` sorts and holds every column of
-- every event, once per window. The events are read twice rather than through a shared CTE, which DuckDB
-- would materialize in memory with all its columns.
--
-- Incremental on the dlt load id: a run re-sessionizes only the anonymous ids with events in newer loads, and
-- each of them only from its restart point: the start of the session of its last event before its earliest
-- new one (a late event can bridge or split that session, never an earlier one); from the beginning if it
-- has no earlier event. Sessions of events that turned non-human (an id whose new burst crossed the rate
-- limit) are deleted first, by the pre-hook: those int_events_bot_flagged (re)judged after the newest judged_at
-- held here, as int_events_attributed and fct_sessions do, not every non-human event there is (0.2-0.6 s at
-- medium scale of matching 760k events against 10M for nothing).
-- sessionized_at stamps the rows a run (re)wrote. Full refresh after changing var session_timeout_minutes.
with

{% if is_incremental() %}
new_events as (
    select anonymous_id, min(occurred_at) as first_new_at
    from {{ ref('int_events_bot_flagged') }}
    where {{ newer_dlt_loads_than_this() }}
        and anonymous_id is not null
    group by anonymous_id
),

restarts as (
    select new_events.anonymous_id, max(earlier.session_started_at) as restart_at
    from new_events
    left join {{ this }} as earlier
        on new_events.anonymous_id = earlier.anonymous_id
        and earlier.occurred_at <= new_events.first_new_at
    group by new_events.anonymous_id
),
{% endif %}

timeline as (
    select events.message_id, events.anonymous_id, events.occurred_at
    from {{ ref('int_events_bot_flagged') }} as events
    {% if is_incremental() %}
    inner join restarts
        on events.anonymous_id = restarts.anonymous_id
        and (restarts.restart_at is null or events.occurred_at >= restarts.restart_at)
    {% endif %}
    where events.non_human_reason is null
        and events.anonymous_id is not null
),

-- Two window passes, both over one ordering of an id's events: the first finds where a session starts (more
-- than the timeout since the previous event), the second carries the latest start forward. Each start's time
-- and position are the largest so far because the order is by time. (Four windows over three partitionings,
-- numbering the sessions first, sorted the events four times: 24 s instead of 19 at 10M events.)
stepped as (
    select
        message_id,
        anonymous_id,
        occurred_at,
        lag(occurred_at) over (partition by anonymous_id order by occurred_at, message_id) as previous_at,
        row_number() over (partition by anonymous_id order by occurred_at, message_id) as event_number
    from timeline
),

starts as (
    select
        message_id,
        anonymous_id,
        occurred_at,
        event_number,
        previous_at is null
            or {{ dbt.datediff('previous_at', 'occurred_at', 'second') }} > {{ var('session_timeout_minutes') }} * 60
            as starts_session
    from stepped
),

sessions as (
    select
        message_id,
        max(case when starts_session then occurred_at end) over (
            partition by anonymous_id order by occurred_at, message_id rows unbounded preceding
        ) as session_started_at,
        event_number + 1 - max(case when starts_session then event_number end) over (
            partition by anonymous_id order by occurred_at, message_id rows unbounded preceding
        ) as event_number_in_session
    from starts
)

-- session_id is hashed after the join, so the join's hash table holds no 32-character key per event
select
    events.*,
    sessions.session_started_at,
    {{ surrogate_key(['events.anonymous_id', 'sessions.session_started_at']) }} as session_id,
    sessions.event_number_in_session,
    {{ run_started_timestamp() }} as sessionized_at
from {{ ref('int_events_bot_flagged') }} as events
-- only human events have a session: the inner join is the filter
inner join sessions on events.message_id = sessions.message_id
