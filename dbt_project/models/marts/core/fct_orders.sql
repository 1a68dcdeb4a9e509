-- One row per order: amounts in the order currency and the reporting currency, with its customer,
-- shipping location and date. Test and cancelled orders stay, flagged by is_revenue, as do orders without an
-- FX rate (fx_rate_status).
with

orders as (
    select * from {{ ref('int_orders_converted') }}
),

identity_map as (
    select * from {{ ref('customer_identity_map') }}
)

select
    {{ surrogate_key(['orders.order_id']) }} as order_key,
    orders.order_id,
    orders.order_name,
    case
        when identity_map.customer_id is not null then {{ surrogate_key(['identity_map.customer_id']) }}
    end as customer_key,
    {{ surrogate_key([
        'orders.shipping_country_code', 'orders.shipping_province', 'orders.shipping_city', 'orders.shipping_postal_code',
    ]) }} as shipping_location_key,
    cast(orders.ordered_at as date) as order_date,
    orders.ordered_at,
    orders.financial_status,
    orders.fulfillment_status,
    orders.currency_code,
    orders.total_amount,
    orders.refunded_amount,
    orders.rate_to_reporting,
    orders.fx_rate_date,
    orders.fx_rate_status,
    orders.subtotal_reporting,
    orders.discount_reporting,
    orders.total_reporting,
    orders.refunded_reporting,
    orders.net_revenue_reporting,
    orders.is_test,
    orders.is_cancelled,
    orders.is_revenue
from orders
left join identity_map on {{ is_identity_of('identity_map', 'shop', 'orders.shop_customer_id') }}
