{{
    config(
        materialized='incremental',
        unique_key='message_id',
        pre_hook="{% if is_incremental() %}
            delete from {{ this }} where message_id in (
                {{ events_turned_non_human('message_id', since=newest_stamp_in_this('sessionized_at')) }})
            {% endif %}",
    )
}}
-- depends_on: {{ ref('int_events_bot_flagged') }} (read by the pre-hook only)
-- Sessionized human events with the person who sent them: through the Segment userId when logged in,
-- else through the anonymousId (identity resolution links anonymous ids to people).
--
-- Only the columns its readers use (sessions, activity, consent, category interests): carrying the whole event
-- (properties and traits JSON, user agent, urls) made it the widest table of the build and, with a second
-- dbt thread beside it, ran the medium build out of memory. fct_events has the full events.
--
-- Incremental, although identity can move any old event to another person: a run attributes the events
-- int_events_sessionized (re)wrote since the newest sessionized_at held here, and re-attributes the events of
-- every (userId, anonymousId) pair whose person in customer_identity_map is no longer the one this table gave
-- it (a new login, a merge or split of two people, an id no longer known). The pairs are few (one per device,
-- about 1% of the events) and comparing them reads two columns, not every event. Events that turned non-human
-- since are deleted first, by the pre-hook, as in int_events_sessionized. attributed_at stamps the rows a run
-- (re)wrote, for fct_sessions.
with

{% if is_incremental() %}
attributed_pairs as (
    select distinct user_id, anonymous_id, customer_id from {{ this }}
),

reattributed_pairs as (
    select pairs.user_id, pairs.anonymous_id
    from attributed_pairs as pairs
    left join {{ ref('customer_identity_map') }} as by_user
        on {{ is_identity_of('by_user', 'analytics', 'pairs.user_id') }}
    left join {{ ref('customer_identity_map') }} as by_device
        on {{ is_identity_of('by_device', 'analytics', 'pairs.anonymous_id') }}
    where pairs.customer_id is distinct from coalesce(by_user.customer_id, by_device.customer_id)
),
{% endif %}

events as (
    {% for part in (['resessionized', 'reattributed'] if is_incremental() else ['all']) %}
    select
        events.message_id,
        events.anonymous_id,
        events.user_id,
        events.session_id,
        events.occurred_at,
        events.event_type,
        events.event_name,
        events.page_path,
        events.referrer,
        events.product_id,
        events.product_category,
        events.sessionized_at
    from {{ ref('int_events_sessionized') }} as events
    {% if part == 'resessionized' %}
    where events.sessionized_at > {{ newest_stamp_in_this('sessionized_at') }}
    {% elif part == 'reattributed' %}
    -- the two parts are disjoint: an event both rewritten and re-identified comes from the first
    inner join reattributed_pairs as pairs
        on events.anonymous_id = pairs.anonymous_id
        and events.user_id is not distinct from pairs.user_id
    where events.sessionized_at <= {{ newest_stamp_in_this('sessionized_at') }}
    {% endif %}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

identity_map as (
    select * from {{ ref('customer_identity_map') }}
)

select
    events.*,
    coalesce(by_user.customer_id, by_device.customer_id) as customer_id,
    {{ run_started_timestamp() }} as attributed_at
from events
left join identity_map as by_user on {{ is_identity_of('by_user', 'analytics', 'events.user_id') }}
left join identity_map as by_device on {{ is_identity_of('by_device', 'analytics', 'events.anonymous_id') }}
