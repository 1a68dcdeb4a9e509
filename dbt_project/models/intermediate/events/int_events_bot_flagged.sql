{{ config(materialized='incremental', unique_key='message_id') }}
-- Every event with a verdict on whether a person sent it: user-agent rules (seed bot_user_agents),
-- staff networks (var internal_ip_prefixes, a deployment setting), and a rate rule (var bot_max_events_per_minute).
--
-- Incremental on the dlt load id: a run judges the events of the loads that arrived since the last one. An
-- event's user agent and ip never change, but its anonymous id's busiest minute only grows as events arrive:
-- the ids with new events get their busiest minute recounted over all their events, and their earlier human
-- events are re-emitted with the rate verdict when this run takes it over the limit (an id already over it
-- had all its events judged non-human then). judged_at stamps the rows a run (re)wrote, for the models
-- downstream. Full refresh after changing the seeds, the vars or the columns.
--
-- It carries the event columns the models downstream read, not staging's JSON (properties, traits), urls and
-- titles: every event model after this one copied them, and writing them was half of this model's time and a
-- third of int_events_sessionized's at 10M events. The rest of an event is in stg_analytics__events by
-- message_id.
{%- set event_columns = [
    'message_id', 'anonymous_id', 'user_id', 'event_type', 'event_name', 'user_agent', 'ip',
    'page_path', 'referrer', 'product_id', 'product_category', 'occurred_at', 'received_at', '_dlt_load_id',
] %}
{%- set new_events -%}
{{ ref('stg_analytics__events') }}
{%- if is_incremental() %} where {{ newer_dlt_loads_than_this() }}{% endif %}
{%- endset %}
{%- set rate_reason = "'rate: more than " ~ var('bot_max_events_per_minute') ~ " events in a minute'" %}

with

user_agent_rules as (
    select * from {{ ref('bot_user_agents') }}
),


-- The rules are evaluated on narrow columns only: per anonymous id and minute, and per distinct user agent
-- and ip (a few thousand values, not one row per event). The events are named in each CTE rather than in a
-- shared one, which DuckDB would materialize (every column of every event) in memory first.
busiest_minute as (
    select
        anonymous_id,
        max(events_in_minute) as max_events_per_minute
    from (
        select
            anonymous_id,
            count(*) as events_in_minute
        from {{ ref('stg_analytics__events') }}
        where anonymous_id is not null
        {% if is_incremental() %}
            and anonymous_id in (select anonymous_id from {{ new_events }})
        {% endif %}
        group by anonymous_id, {{ dbt.date_trunc('minute', 'occurred_at') }}
    ) as per_minute
    group by anonymous_id
),

{% if is_incremental() -%}
-- ids the new events took over the limit: over it now, at or under it in the events judged before (usually
-- none, and then this table is not scanned for their earlier events at all)
newly_over_limit as (
    select anonymous_id
    from (
        select anonymous_id, count(*) as judged_events_in_minute
        from {{ ref('stg_analytics__events') }}
        where anonymous_id in (
            select anonymous_id from busiest_minute
            where max_events_per_minute > {{ var('bot_max_events_per_minute') }}
        )
            and not {{ newer_dlt_loads_than_this() }}
        group by anonymous_id, {{ dbt.date_trunc('minute', 'occurred_at') }}
    ) as judged_per_minute
    group by anonymous_id
    having max(judged_events_in_minute) <= {{ var('bot_max_events_per_minute') }}
),
{%- endif %}

-- the agents matching any pattern (one alternation, compiled once), then which pattern for the reason
user_agent_matches as (
    select
        agents.user_agent,
        min(user_agent_rules.traffic_kind || ': ' || user_agent_rules.reason) as reason
    from (
        select user_agent from (select distinct user_agent from {{ new_events }}) as new_agents
        where {{ is_bot_user_agent('user_agent') }}
    ) as agents
    inner join user_agent_rules
        on {{ regex_contains_expr('agents.user_agent', 'user_agent_rules.user_agent_pattern') }}
    group by agents.user_agent
),

-- staff networks: the deployment's var internal_ip_prefixes (none configured: no ip matches)
internal_matches as (
    select
        addresses.ip,
        'internal: staff network' as reason
    from (select distinct ip from {{ new_events }}) as addresses
    where {{ ip_in_prefixes('addresses.ip', var('internal_ip_prefixes')) }}
)

select
    {%- for column in event_columns %}
    events.{{ column }},
    {%- endfor %}
    coalesce(
        user_agent_matches.reason,
        internal_matches.reason,
        case
            when busiest_minute.max_events_per_minute > {{ var('bot_max_events_per_minute') }} then {{ rate_reason }}
        end
    ) as non_human_reason,
    {{ run_started_timestamp() }} as judged_at
from (select * from {{ new_events }}) as events
left join user_agent_matches on events.user_agent = user_agent_matches.user_agent
left join internal_matches on events.ip = internal_matches.ip
left join busiest_minute on events.anonymous_id = busiest_minute.anonymous_id

{% if is_incremental() %}
union all

-- the earlier human events of the ids the new events took over the limit
select
    {%- for column in adapter.get_columns_in_relation(this) if column.name not in ('non_human_reason', 'judged_at') %}
    earlier.{{ adapter.quote(column.name) }},
    {%- endfor %}
    {{ rate_reason }} as non_human_reason,
    {{ run_started_timestamp() }} as judged_at
from {{ this }} as earlier
where earlier.non_human_reason is null
    and earlier.anonymous_id in (select anonymous_id from newly_over_limit)
{% endif %}
