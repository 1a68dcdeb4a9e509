{{
    config(
        materialized='incremental',
        unique_key='anonymous_id',
        pre_hook="{% if is_incremental() %}
            delete from {{ this }} where anonymous_id in ({{ devices_to_sum_again(event_senders_watermarks()) }})
            {% endif %}",
        post_hook="{{ save_products_as_summed() }}",
    )
}}
-- depends_on: {{ ref('int_events_bot_flagged') }} (read by devices_to_sum_again)
-- What each sender of human events (an anonymousId with the userId it sent, or none) did, per kind of event and
-- product category: how many, the latest, and the events decayed to the device's latest event (decayed_to). The
-- customer models read this instead of every event, and look the person up as they read it, so identity
-- changes need no rewrite here. Only what they read is kept apart: event names of track events and of product
-- views, and categories (the product's, else the one the event named) of track events.
--
-- Incremental per device by merging, not re-reading: a run adds the events of loads newer than the newest its
-- rows hold (last_dlt_load_id) to them. Counts add, latest take the max, and decay is multiplicative: a weight
-- held as of t0 is, as of t1, that weight × 0.5^((t1 - t0) / half-life). The devices whose summed events were
-- judged non-human since (a burst turns earlier events into bot traffic, which no sum takes back) or were of a
-- product whose category changed (the post-hook saves the categories summed) are deleted by the pre-hook and
-- summed again from their events. Full refresh after changing the half-life.
{%- set watermarks = event_senders_watermarks() %}
{%- set group_columns = ['anonymous_id', 'user_id', 'event_type', 'event_name', 'product_category'] %}
{%- set sender_events -%}
    select
        events.anonymous_id,
        events.user_id,
        events.event_type,
        case when events.event_type = 'track' or events.event_name = 'Product Viewed' then events.event_name end
            as event_name,
        case when events.event_type = 'track' then coalesce(products.product_category, events.product_category) end
            as product_category,
        events.occurred_at,
        events._dlt_load_id
    from {{ ref('int_events_sessionized') }} as events
    left join {{ ref('stg_shop__products') }} as products on events.product_id = products.product_id
{%- endset %}

with

events as (
    {% if is_incremental() %}
    -- a device's rows hold every event of loads up to their last_dlt_load_id, and rows leave only whole devices
    -- (the pre-hook) or with their person (an erasure): no device held has events of a newer load than the
    -- newest held, so that one watermark finds every event not merged yet
    {{ sender_events }}
    where events._dlt_load_id > {{ watermarks.load }}
    {% if watermarks.devices > 0 %}
        and events.anonymous_id not in ({{ devices_to_sum_again(watermarks) }})
    union all
    {{ sender_events }}
    where events.anonymous_id in ({{ devices_to_sum_again(watermarks) }})
    {% endif %}
    {% else %}
    {{ sender_events }}
    {% endif %}
),

{% if is_incremental() %}
held as (
    select * from {{ this }}
    where anonymous_id in (select anonymous_id from events)
),
{% endif %}

devices as (
    select
        anonymous_id,
        max(latest_at) as decayed_to,
        max(load_id) as last_dlt_load_id
    from (
        select
            anonymous_id,
            occurred_at as latest_at,
            _dlt_load_id as load_id
        from events
        {% if is_incremental() %}
        union all
        select
            anonymous_id,
            decayed_to,
            last_dlt_load_id
        from held
        {% endif %}
    ) as known
    group by anonymous_id
),

signals as (
    select
        {%- for column in group_columns %}
        events.{{ column }},
        {%- endfor %}
        count(*) as events_count,
        max(events.occurred_at) as last_occurred_at,
        sum({{ decayed('1.0', 'events.occurred_at', 'devices.decayed_to') }}) as decayed_events
    from events
    inner join devices on events.anonymous_id = devices.anonymous_id
    group by
        {%- for column in group_columns %}
        events.{{ column }},
        {%- endfor %}
        devices.decayed_to
    {% if is_incremental() %}
    union all
    select
        {%- for column in group_columns %}
        held.{{ column }},
        {%- endfor %}
        held.events_count,
        held.last_occurred_at,
        {{ decayed('held.decayed_events', 'held.decayed_to', 'devices.decayed_to') }}
    from held
    inner join devices on held.anonymous_id = devices.anonymous_id
    {% endif %}
)

select
    {%- for column in group_columns %}
    signals.{{ column }},
    {%- endfor %}
    cast(sum(signals.events_count) as bigint) as events_count,
    max(signals.last_occurred_at) as last_occurred_at,
    sum(signals.decayed_events) as decayed_events,
    devices.decayed_to,
    devices.last_dlt_load_id,
    {{ run_started_timestamp() }} as dbt_updated_at
from signals
inner join devices on signals.anonymous_id = devices.anonymous_id
group by
    {%- for column in group_columns %}
    signals.{{ column }},
    {%- endfor %}
    devices.decayed_to,
    devices.last_dlt_load_id
