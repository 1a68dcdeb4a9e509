-- Interest of each person in each product category: every signal (seed interest_event_weights: product
-- views, add-to-carts, purchased order lines) weighs its weight × 0.5^(age in days / var interest_half_life_days).
--
-- The events' part comes from int_event_senders_summarized, where each sender's events of one kind and category
-- are summed decayed to the latest of them: × 0.5^(age of that latest / half-life) is their weight as of now.
-- So this table reads one row per sender, kind and category, not every event.
with

weights as (
    select * from {{ ref('interest_event_weights') }}
),

products as (
    select
        product_id,
        product_category
    from {{ ref('stg_shop__products') }}
),

event_signals as (
    select
        senders.customer_id,
        senders.product_category,
        senders.event_name as signal,
        senders.events_count as signals_count,
        senders.last_occurred_at as signal_at,
        senders.decayed_events_count as decayed_count
    from ({{ senders_with_customer() }}) as senders
    where senders.event_type = 'track'
),

purchase_signals as (
    select
        identity_map.customer_id,
        products.product_category,
        'Order Completed' as signal,
        1 as signals_count,
        lines.ordered_at as signal_at,
        1.0 as decayed_count
    from {{ ref('int_order_lines_converted') }} as lines
    inner join {{ ref('stg_shop__orders') }} as orders on lines.order_id = orders.order_id
    inner join {{ ref('customer_identity_map') }} as identity_map
        on {{ is_identity_of('identity_map', 'shop', 'orders.shop_customer_id') }}
    inner join products on lines.product_id = products.product_id
    where lines.is_revenue
),

signals as (
    select * from event_signals
    union all
    select * from purchase_signals
)

select
    signals.customer_id,
    signals.product_category,
    cast(sum(signals.signals_count) as bigint) as signals_count,
    max(signals.signal_at) as last_signal_at,
    cast(sum(
        weights.weight * signals.decayed_count * power(
            0.5,
            {{ dbt.datediff('signals.signal_at', as_of_timestamp(), 'hour') }} / 24.0  -- noqa: LT05
            / {{ var('interest_half_life_days') }}
        )
    ) as decimal(18, 4)) as interest_score
from signals
inner join weights on signals.signal = weights.signal
where signals.product_category is not null
group by signals.customer_id, signals.product_category
