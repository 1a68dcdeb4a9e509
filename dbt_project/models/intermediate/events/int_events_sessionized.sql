-- Human events grouped into sessions per anonymous id: more than var session_timeout_minutes of
-- inactivity starts a new session. A session is identified by its anonymous id and start time.
--
-- The windows run over the narrow (message_id, anonymous_id, occurred_at) only, and the session columns are
-- joined back to the events by message_id (unique): a window over `select *` sorts and holds every column of
-- every event, once per window. The events are read twice rather than through a shared CTE, which DuckDB
-- would materialize in memory with all its columns.
with

timeline as (
    select message_id, anonymous_id, occurred_at
    from {{ ref('int_events_bot_flagged') }}
    where non_human_reason is null
        and anonymous_id is not null
),

gaps as (
    select
        *,
        lag(occurred_at) over (partition by anonymous_id order by occurred_at, message_id) as previous_at
    from timeline
),

numbered as (
    select
        message_id,
        anonymous_id,
        occurred_at,
        sum(
            case
                when previous_at is null
                    or {{ dbt.datediff('previous_at', 'occurred_at', 'second') }}
                        > {{ var('session_timeout_minutes') }} * 60
                    then 1
                else 0
            end
        ) over (partition by anonymous_id order by occurred_at, message_id rows unbounded preceding)
            as session_number
    from gaps
),

started as (
    select
        message_id,
        anonymous_id,
        occurred_at,
        min(occurred_at) over (partition by anonymous_id, session_number) as session_started_at
    from numbered
),

sessions as (
    select
        message_id,
        session_started_at,
        row_number() over (partition by anonymous_id, session_started_at order by occurred_at, message_id)
            as event_number_in_session
    from started
)

-- session_id is hashed after the join, so the join's hash table holds no 32-character key per event
select
    events.*,
    sessions.session_started_at,
    {{ surrogate_key(['events.anonymous_id', 'sessions.session_started_at']) }} as session_id,
    sessions.event_number_in_session
from {{ ref('int_events_bot_flagged') }} as events
-- only human events have a session: the inner join is the filter
inner join sessions on events.message_id = sessions.message_id
