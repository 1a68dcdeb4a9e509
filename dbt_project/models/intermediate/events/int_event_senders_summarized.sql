{{
    config(
        materialized='incremental',
        unique_key='anonymous_id',
        pre_hook="{% if is_incremental() %}
            delete from {{ this }} where anonymous_id in (
                {{ anonymous_ids_with_changed_events(newest_stamp_in_this('dbt_updated_at')) }})
            {% endif %}",
    )
}}
-- depends_on: {{ ref('int_events_bot_flagged') }} (read by anonymous_ids_with_changed_events)
-- What each sender of human events (an anonymousId with the userId it sent, or none) did, per kind of event
-- and product category (the product's, else the one the event named): how many, the latest, and the events
-- decayed to the anonymousId's latest event (0.5 per var interest_half_life_days before it). The customer
-- models read this instead of every event: a sender's person is looked up when they read it
-- (customer_identity_map), so nothing here changes when identity does, and a score "as of now" is the decayed
-- count times 0.5^(hours from decayed_to_at to now / 24 / half-life), for any now.
--
-- Incremental on anonymous ids: a run replaces every row of the ids with events int_events_sessionized
-- (re)wrote since the newest dbt_updated_at here (new and late events), and of those with events
-- int_events_bot_flagged judged non-human since (the pre-hook deletes them first: an id with no human event
-- left has no rows). Full refresh after changing var interest_half_life_days, or to move the earlier events of
-- a product whose category changed (per product, these rows were 2.7 times as many: docs/incremental.md).
{%- set group_columns = ['anonymous_id', 'user_id', 'event_type', 'event_name', 'product_category'] %}

with

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
    -- a join, not `in (...)`: DuckDB applied that after the products' join, to every event
    inner join (
        {{ anonymous_ids_with_changed_events(newest_stamp_in_this('dbt_updated_at')) }}
    ) as changed on events.anonymous_id = changed.anonymous_id
    {%- endif %}
    left join {{ ref('stg_shop__products') }} as products on events.product_id = products.product_id
),

-- every group of an id decays to the id's latest event: one join on the id, where decaying each group to its
-- own latest joined on all five group columns and took five times as long
latest as (
    select
        anonymous_id,
        max(occurred_at) as decayed_to_at
    from events
    group by anonymous_id
)

select
    {%- for column in group_columns %}
    events.{{ column }},
    {%- endfor %}
    count(*) as events_count,
    max(events.occurred_at) as last_occurred_at,
    latest.decayed_to_at,
    sum(power(
        0.5,
        {{ dbt.datediff('events.occurred_at', 'latest.decayed_to_at', 'hour') }} / 24.0  -- noqa: LT05
        / {{ var('interest_half_life_days') }}
    )) as decayed_events_count,
    {{ run_started_timestamp() }} as dbt_updated_at
from events
inner join latest on events.anonymous_id = latest.anonymous_id
group by
    {%- for column in group_columns %}
    events.{{ column }},
    {%- endfor %}
    latest.decayed_to_at
