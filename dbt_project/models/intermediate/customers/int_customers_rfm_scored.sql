-- Recency, frequency and monetary value of every person with a revenue order, each scored in quintiles
-- (5 = best), and the RFM segment their scores fall into (rules in the seed rfm_segments).
with

customers as (
    select
        *,
        {{ dbt.datediff('last_order_at', as_of_timestamp(), 'day') }} as recency_days  -- noqa: LT05
    from {{ ref('int_customers_orders_aggregated') }}
),

scored as (
    select
        customer_id,
        recency_days,
        orders_count as frequency,
        lifetime_value as monetary,
        -- ntile over the ascending "goodness": recent, frequent, valuable customers land in 5
        ntile(5) over (order by recency_days desc, customer_id asc) as r_score,
        ntile(5) over (order by orders_count, customer_id) as f_score,
        ntile(5) over (order by lifetime_value, customer_id) as m_score
    from customers
),

segments as (
    select * from {{ ref('rfm_segments') }}
)

select
    scored.*,
    coalesce(
        (
            select segments.rfm_segment
            from segments
            where scored.r_score between segments.r_min and segments.r_max
                and (scored.f_score + scored.m_score) / 2.0 between segments.fm_min and segments.fm_max
            order by segments.priority
            limit 1
        ),
        'Other'
    ) as rfm_segment
from scored
