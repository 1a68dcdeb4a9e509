-- Order lines with the order's currency, date, rate and its status; line amounts also in the reporting currency
-- (null, and not revenue, when the order's currency has no rate).
with

lines as (
    select * from {{ ref('stg_shop__order_lines') }}
),

orders as (
    select
        order_id,
        currency_code,
        ordered_at,
        is_revenue,
        rate_to_reporting,
        fx_rate_status
    from {{ ref('int_orders_converted') }}
)

select
    lines.*,
    orders.currency_code,
    orders.ordered_at,
    orders.is_revenue,
    orders.fx_rate_status,
    {{ to_reporting_currency('lines.unit_price', 'orders.rate_to_reporting') }} as unit_price_reporting,
    {{ to_reporting_currency('lines.line_amount', 'orders.rate_to_reporting') }} as line_amount_reporting
from lines
inner join orders on lines.order_id = orders.order_id
