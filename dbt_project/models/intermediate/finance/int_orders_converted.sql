-- Orders with their refunds, every amount also in the reporting currency at the ECB rate of the order date.
-- Every order keeps its row: fx_rate_status says how good its rate is, and an order with no rate (a currency
-- the ECB does not publish) has null reporting amounts and is not revenue, so no reporting total counts it.
with

orders as (
    select * from {{ ref('stg_shop__orders') }}
),

refunds as (
    select
        order_id,
        sum(refund_amount) as refunded_amount
    from {{ ref('stg_shop__order_refunds') }}
    group by order_id
),

fx_rates as (
    select * from {{ ref('int_fx_rates_ranged') }}
),

order_days as (
    select distinct
        currency_code,
        cast(ordered_at as date) as order_date
    from orders
),

day_rates as (
    -- the as-of join once per currency and day, not per order: a currency has a range per ECB day
    select
        order_days.currency_code,
        order_days.order_date,
        fx_rates.rate_to_reporting,
        fx_rates.rate_date,
        fx_rates.is_before_coverage
    from order_days
    inner join fx_rates on {{ fx_rate_valid_at('fx_rates', 'order_days.currency_code', 'order_days.order_date') }}
)

select
    orders.*,
    coalesce(refunds.refunded_amount, 0) as refunded_amount,
    -- revenue counts real, not cancelled orders that have a reporting-currency amount
    not orders.is_test and not orders.is_cancelled and day_rates.rate_to_reporting is not null as is_revenue,
    day_rates.rate_to_reporting,
    day_rates.rate_date as fx_rate_date,
    {{ fx_rate_status('day_rates', 'orders.ordered_at') }} as fx_rate_status,
    {{ to_reporting_currency('orders.subtotal_amount', 'day_rates.rate_to_reporting') }} as subtotal_reporting,
    {{ to_reporting_currency('orders.discount_amount', 'day_rates.rate_to_reporting') }} as discount_reporting,
    {{ to_reporting_currency('orders.total_amount', 'day_rates.rate_to_reporting') }} as total_reporting,
    {{ to_reporting_currency('coalesce(refunds.refunded_amount, 0)', 'day_rates.rate_to_reporting') }}
        as refunded_reporting,
    {{ to_reporting_currency(
        'orders.total_amount - coalesce(refunds.refunded_amount, 0)', 'day_rates.rate_to_reporting'
    ) }}
        as net_revenue_reporting
from orders
left join refunds on orders.order_id = refunds.order_id
left join day_rates
    on orders.currency_code = day_rates.currency_code
        and cast(orders.ordered_at as date) = day_rates.order_date
