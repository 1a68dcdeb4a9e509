-- Orders with their refunds, every amount also in the reporting currency at the rate of the order date.
with

orders as (
    select * from {{ ref('stg_shop__orders') }}
),

refunds as (
    select order_id, sum(refund_amount) as refunded_amount
    from {{ ref('stg_shop__order_refunds') }}
    group by order_id
),

fx_rates as (
    select * from {{ ref('int_fx_rates_ranged') }}
)

select
    orders.*,
    coalesce(refunds.refunded_amount, 0) as refunded_amount,
    -- revenue counts real, not cancelled orders
    not orders.is_test and not orders.is_cancelled as is_revenue,
    fx_rates.rate_to_reporting,
    {{ to_reporting_currency('orders.subtotal_amount', 'fx_rates.rate_to_reporting') }} as subtotal_reporting,
    {{ to_reporting_currency('orders.discount_amount', 'fx_rates.rate_to_reporting') }} as discount_reporting,
    {{ to_reporting_currency('orders.total_amount', 'fx_rates.rate_to_reporting') }} as total_reporting,
    {{ to_reporting_currency('coalesce(refunds.refunded_amount, 0)', 'fx_rates.rate_to_reporting') }} as refunded_reporting,
    {{ to_reporting_currency('orders.total_amount - coalesce(refunds.refunded_amount, 0)', 'fx_rates.rate_to_reporting') }} as net_revenue_reporting
from orders
left join refunds on orders.order_id = refunds.order_id
left join fx_rates on {{ fx_rate_valid_at('fx_rates', 'orders.currency_code', 'orders.ordered_at') }}
