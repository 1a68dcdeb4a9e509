-- One row per person known to the CRM or the shop: what an email platform needs to personalize and to
-- respect consent. Amounts in var reporting_currency, net of refunds.
with

customers as (select * from {{ ref('int_customers_merged') }}),

consent as (select * from {{ ref('int_customers_consent_resolved') }}),

orders as (select * from {{ ref('int_customers_orders_aggregated') }}),

rfm as (select * from {{ ref('int_customers_rfm_scored') }}),

activity as (select * from {{ ref('int_customers_activity_summarized') }}),

favourite_categories as (
    select
        customer_id,
        {{ freshest_value('product_category', 'interest_score desc, product_category') }} as favourite_category
    from {{ ref('int_customer_category_interests') }}
    group by customer_id
),

high_value_threshold as (
    select
        percentile_cont({{ var('high_value_ltv_quantile') }}) within group (order by lifetime_value)
            as min_lifetime_value
    from orders
)

select
    customers.customer_id,
    customers.email,
    customers.first_name,
    customers.last_name,
    customers.country_code,
    coalesce(consent.email_consent, false) as email_consent,
    consent.email_consent_source,
    consent.email_consent_at,
    coalesce(orders.orders_count, 0) as orders_count,
    coalesce(orders.lifetime_value, 0) as lifetime_value,
    orders.average_order_value,
    orders.first_order_at,
    orders.last_order_at,
    rfm.recency_days,
    rfm.frequency,
    rfm.monetary,
    rfm.r_score,
    rfm.f_score,
    rfm.m_score,
    coalesce(rfm.rfm_segment, 'No Orders') as rfm_segment,
    favourite_categories.favourite_category,
    activity.last_seen_at,
    activity.last_product_viewed_at,
    coalesce(
        activity.last_product_viewed_at
        >= {{ dbt.dateadd('day', -1 * var('recent_viewer_days'), as_of_timestamp()) }},
        false
    ) as is_recent_viewer,
    coalesce(orders.lifetime_value >= high_value_threshold.min_lifetime_value, false) as is_high_value,
    coalesce(activity.abandoned_checkouts_count, 0) > 0 as is_cart_abandoner,
    activity.last_abandoned_checkout_at
from customers
cross join high_value_threshold
left join consent on customers.customer_id = consent.customer_id
left join orders on customers.customer_id = orders.customer_id
left join rfm on customers.customer_id = rfm.customer_id
left join favourite_categories on customers.customer_id = favourite_categories.customer_id
left join activity on customers.customer_id = activity.customer_id
