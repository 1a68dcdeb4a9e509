-- One row per order line: quantity and amounts (order and reporting currency) by product, order and customer.
with

lines as (
    select * from {{ ref('int_order_lines_converted') }}
),

orders as (
    select
        order_id,
        order_key,
        customer_key
    from {{ ref('fct_orders') }}
)

select
    {{ surrogate_key(['lines.order_line_id']) }} as order_line_key,
    orders.order_key,
    orders.customer_key,
    case when lines.product_id is not null then {{ surrogate_key(['lines.product_id']) }} end as product_key,
    lines.order_line_id,
    cast(lines.ordered_at as date) as order_date,
    lines.sku,
    lines.quantity,
    lines.currency_code,
    lines.unit_price,
    lines.line_amount,
    lines.unit_price_reporting,
    lines.line_amount_reporting,
    lines.fx_rate_status,
    lines.is_revenue
from lines
inner join orders on lines.order_id = orders.order_id
