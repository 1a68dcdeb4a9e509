-- Human events grouped into sessions per anonymous id: more than var session_timeout_minutes of
-- inactivity starts a new session. A session is identified by its anonymous id and start time.
with

events as (
    select * from {{ ref('int_events_bot_flagged') }}
    where non_human_reason is null
      and anonymous_id is not null
),

gaps as (
    select
        *,
        lag(occurred_at) over (partition by anonymous_id order by occurred_at, message_id) as previous_at
    from events
),

numbered as (
    select
        *,
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
        *,
        min(occurred_at) over (partition by anonymous_id, session_number) as session_started_at
    from numbered
)

select
    * exclude (previous_at, session_number),
    {{ surrogate_key(['anonymous_id', 'session_started_at']) }} as session_id,
    row_number() over (partition by anonymous_id, session_started_at order by occurred_at, message_id)
        as event_number_in_session
from started
