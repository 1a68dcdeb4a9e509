-- Revenue orders (not test, not cancelled) per person, amounts in the reporting currency net of refunds.
with

orders as (
    select * from {{ ref('int_orders_converted') }}
    where is_revenue
),

identity_map as (
    select * from {{ ref('customer_identity_map') }}
)

select
    identity_map.customer_id,
    count(*) as orders_count,
    cast(sum(orders.net_revenue_reporting) as decimal(18, 2)) as lifetime_value,
    cast(sum(orders.net_revenue_reporting) / count(*) as decimal(18, 2)) as average_order_value,
    min(orders.ordered_at) as first_order_at,
    max(orders.ordered_at) as last_order_at
from orders
inner join identity_map on {{ is_identity_of('identity_map', 'shop', 'orders.shop_customer_id') }}
group by identity_map.customer_id
