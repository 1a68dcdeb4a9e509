-- Every event with a verdict on whether a person sent it: user-agent rules (seed bot_user_agents),
-- staff networks (seed internal_ip_prefixes), and a rate rule (var bot_max_events_per_minute).
with

events as (
    select * from {{ ref('stg_analytics__events') }}
),

user_agent_rules as (
    select * from {{ ref('bot_user_agents') }}
),

internal_networks as (
    select * from {{ ref('internal_ip_prefixes') }}
),

-- The rules are evaluated on narrow columns only: per anonymous id and minute, and per distinct user agent
-- and ip (a few thousand values, not one row per event). `events` is read once more, for the output; were it
-- a shared CTE, DuckDB would materialize every column of every event in memory first.
busiest_minute as (
    select anonymous_id, max(events_in_minute) as max_events_per_minute
    from (
        select anonymous_id, count(*) as events_in_minute
        from {{ ref('stg_analytics__events') }}
        where anonymous_id is not null
        group by anonymous_id, {{ dbt.date_trunc('minute', 'occurred_at') }}
    ) as per_minute
    group by anonymous_id
),

user_agent_matches as (
    select agents.user_agent, min(user_agent_rules.traffic_kind || ': ' || user_agent_rules.reason) as reason
    from (select distinct user_agent from {{ ref('stg_analytics__events') }}) as agents
    inner join user_agent_rules
        on {{ dbt.position("user_agent_rules.user_agent_fragment", "lower(agents.user_agent)") }} > 0
    group by agents.user_agent
),

internal_matches as (
    select addresses.ip, min('internal: ' || internal_networks.reason) as reason
    from (select distinct ip from {{ ref('stg_analytics__events') }}) as addresses
    inner join internal_networks
        on {{ dbt.position("internal_networks.ip_prefix", "addresses.ip") }} = 1
    group by addresses.ip
)

select
    events.*,
    coalesce(
        user_agent_matches.reason,
        internal_matches.reason,
        case
            when busiest_minute.max_events_per_minute > {{ var('bot_max_events_per_minute') }}
                then 'rate: more than {{ var("bot_max_events_per_minute") }} events in a minute'
        end
    ) as non_human_reason
from events
left join user_agent_matches on events.user_agent = user_agent_matches.user_agent
left join internal_matches on events.ip = internal_matches.ip
left join busiest_minute on events.anonymous_id = busiest_minute.anonymous_id
