-- Interest of each person in each product category: every signal (seed interest_event_weights: product
-- views, add-to-carts, purchased order lines) weighs its weight × 0.5^(age in days / var interest_half_life_days).
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
        events.customer_id,
        coalesce(products.product_category, events.product_category) as product_category,
        events.event_name as signal,
        events.occurred_at as signal_at
    from {{ ref('int_events_attributed') }} as events
    left join products on events.product_id = products.product_id
    where events.event_type = 'track'
        and events.customer_id is not null
),

purchase_signals as (
    select
        identity_map.customer_id,
        products.product_category,
        'Order Completed' as signal,
        lines.ordered_at as signal_at
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
    count(*) as signals_count,
    max(signals.signal_at) as last_signal_at,
    cast(sum(
        weights.weight * power(
            0.5,
            {{ dbt.datediff('signals.signal_at', as_of_timestamp(), 'hour') }} / 24.0  -- noqa: LT05
            / {{ var('interest_half_life_days') }}
        )
    ) as decimal(18, 4)) as interest_score
from signals
inner join weights on signals.signal = weights.signal
where signals.product_category is not null
group by signals.customer_id, signals.product_category
