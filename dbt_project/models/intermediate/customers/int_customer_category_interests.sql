-- Interest of each person in each product category: every signal (seed interest_event_weights: product
-- views, add-to-carts, purchased order lines) weighs its weight × 0.5^(age in days / var interest_half_life_days).
-- The events come summed per sender, kind and category from int_event_senders_summarized, decayed to a moment
-- (decayed_to) that is decayed on to now here; a purchased line is one signal decayed from its order's time.
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
        senders.decayed_events as decayed_signals,
        senders.decayed_to
    from ({{ event_senders_with_customer() }}) as senders
    where senders.event_type = 'track'
),

purchase_signals as (
    select
        identity_map.customer_id,
        products.product_category,
        'Order Completed' as signal,
        1 as signals_count,
        lines.ordered_at as signal_at,
        1.0 as decayed_signals,
        lines.ordered_at as decayed_to
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
        {{ decayed('weights.weight * signals.decayed_signals', 'signals.decayed_to', as_of_timestamp()) }}
    ) as decimal(18, 4)) as interest_score
from signals
inner join weights on signals.signal = weights.signal
where signals.product_category is not null
group by signals.customer_id, signals.product_category
