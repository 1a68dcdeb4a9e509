-- One row per person known to the CRM or the shop: what an email platform needs to personalize and to
-- respect consent. Amounts in var reporting_currency, net of refunds. Email engagement: opens and clicks of
-- campaign emails, each weighing var email_engagement_weights × 0.5^(age in days / var
-- email_engagement_half_life_days); the click rate and dormancy look at the last var email_engagement_window_days.
-- Support: int_customers_support_summarized.
with

customers as (select * from {{ ref('int_customers_merged') }}),

consent as (select * from {{ ref('int_customers_consent_resolved') }}),

orders as (select * from {{ ref('int_customers_orders_aggregated') }}),

rfm as (select * from {{ ref('int_customers_rfm_scored') }}),

activity as (select * from {{ ref('int_customers_activity_summarized') }}),

support as (select * from {{ ref('int_customers_support_summarized') }}),

email_actions as (
    select
        customer_id,
        campaign_id,
        activity_type,
        occurred_at,
        occurred_at >= {{ dbt.dateadd('day', -1 * var('email_engagement_window_days'), as_of_timestamp()) }}
            as is_in_window,
        case activity_type
            {%- for action, weight in var('email_engagement_weights').items() %}
            when '{{ action }}' then {{ weight }}
            {%- endfor %}
            else 0
        end as weight
    from {{ ref('fct_email_activity') }}
    -- a click is also an open: it proves the email was read even when blocked images reported no open
    where activity_type in ('open', 'click')
        and customer_id is not null
        and occurred_at <= {{ as_of_timestamp() }}
),

engagement as (
    select
        customer_id,
        max(occurred_at) as last_email_opened_at,
        count(distinct campaign_id) filter (where is_in_window and activity_type = 'click')
        / nullif(count(distinct campaign_id) filter (where is_in_window), 0) as email_click_rate,
        cast(sum(
            weight * power(
                0.5,
                {{ dbt.datediff('occurred_at', as_of_timestamp(), 'hour') }} / 24.0  -- noqa: LT05
                / {{ var('email_engagement_half_life_days') }}
            )
        ) as decimal(18, 4)) as email_engagement_score
    from email_actions
    group by customer_id
),

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
    activity.last_abandoned_checkout_at,
    engagement.last_email_opened_at,
    engagement.email_click_rate as email_click_rate_90d,
    coalesce(engagement.email_engagement_score, 0) as email_engagement_score,
    coalesce(engagement.email_engagement_score >= {{ var('email_engaged_min_score') }}, false) as is_email_engaged,
    coalesce(
        engagement.last_email_opened_at
        < {{ dbt.dateadd('day', -1 * var('email_engagement_window_days'), as_of_timestamp()) }},
        true
    ) as is_email_dormant,
    coalesce(support.open_tickets_count, 0) as open_tickets_count,
    support.last_csat_score,
    support.sentiment_score_30d,
    coalesce(support.has_open_complaint, false) as has_open_complaint
from customers
cross join high_value_threshold
left join consent on customers.customer_id = consent.customer_id
left join orders on customers.customer_id = orders.customer_id
left join rfm on customers.customer_id = rfm.customer_id
left join favourite_categories on customers.customer_id = favourite_categories.customer_id
left join activity on customers.customer_id = activity.customer_id
left join engagement on customers.customer_id = engagement.customer_id
left join support on customers.customer_id = support.customer_id
