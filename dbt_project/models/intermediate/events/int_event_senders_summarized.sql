{{
    config(
        materialized='incremental',
        unique_key='sender_key',
        pre_hook="{% if is_incremental() %}
            delete from {{ this }} where sender_key in (
                select sender_key from ({{ senders_with_changed_events(newest_stamp_in_this('dbt_updated_at')) }}) as changed)
            {% endif %}",
    )
}}
-- depends_on: {{ ref('int_events_bot_flagged') }} (read by senders_with_changed_events)
-- What each sender of human events (an anonymousId with the userId it sent, or none) did, per kind of event
-- and product category (the product's, else the one the event named): how many, the latest, and the events
-- decayed to the latest (0.5 per var interest_half_life_days before it). The customer models read this instead
-- of every event: a sender's person is looked up when they read it (customer_identity_map), so nothing here
-- changes when identity does, and a score "as of now" is the decayed count times 0.5^(time since the latest /
-- half-life), for any now.
--
-- Incremental on senders: a run replaces every row of the senders whose events int_events_sessionized
-- (re)wrote since the newest dbt_updated_at here (new and late events), and of those with events
-- int_events_bot_flagged judged non-human since (the pre-hook deletes them first: a sender with no human event
-- left has no rows). Full refresh after changing var interest_half_life_days, or to move the earlier events of
-- a product whose category changed (per product, these rows were 2.7 times as many: docs/incremental.md).
{%- set group_columns = ['anonymous_id', 'user_id', 'event_type', 'event_name', 'product_category'] %}

with

{% if is_incremental() -%}
changed as (
    {{ senders_with_changed_events(newest_stamp_in_this('dbt_updated_at')) }}
),
{%- endif %}

events as (
    select
        events.anonymous_id,
        events.user_id,
        events.event_type,
        events.event_name,
        coalesce(products.product_category, events.product_category) as product_category,
        events.occurred_at
    from {{ ref('int_events_sessionized') }} as events
    {% if is_incremental() -%}
    inner join changed
        on events.anonymous_id = changed.anonymous_id
        and events.user_id is not distinct from changed.user_id
    {%- endif %}
    left join {{ ref('stg_shop__products') }} as products on events.product_id = products.product_id
),

-- the latest of each group first, then the decay to it: a window would hold every event in memory
latest as (
    select
        {{ group_columns | join(', ') }},
        max(occurred_at) as last_occurred_at
    from events
    group by {{ group_columns | join(', ') }}
)

select
    {{ surrogate_key(['latest.anonymous_id', 'latest.user_id']) }} as sender_key,
    {%- for column in group_columns %}
    latest.{{ column }},
    {%- endfor %}
    count(*) as events_count,
    latest.last_occurred_at,
    sum(power(
        0.5,
        {{ dbt.datediff('events.occurred_at', 'latest.last_occurred_at', 'hour') }} / 24.0  -- noqa: LT05
        / {{ var('interest_half_life_days') }}
    )) as decayed_events_count,
    {{ run_started_timestamp() }} as dbt_updated_at
from events
inner join latest
    on events.anonymous_id = latest.anonymous_id
        and events.user_id is not distinct from latest.user_id
        and events.event_type is not distinct from latest.event_type
        and events.event_name is not distinct from latest.event_name
        and events.product_category is not distinct from latest.product_category
group by
    {%- for column in group_columns %}
    latest.{{ column }},
    {%- endfor %}
    latest.last_occurred_at
