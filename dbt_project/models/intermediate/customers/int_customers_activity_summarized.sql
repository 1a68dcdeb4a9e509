-- What each person did on the site and in checkout: last seen, last product view, abandoned carts
-- (a checkout never completed and not followed by an order within var cart_abandonment_days).
with

events as (
    select * from {{ ref('int_events_attributed') }}
    where customer_id is not null
),

identity_map as (
    select * from {{ ref('customer_identity_map') }}
),

site_activity as (
    select
        customer_id,
        max(occurred_at) as last_seen_at,
        max(case when event_name = 'Product Viewed' then occurred_at end) as last_product_viewed_at
    from events
    group by customer_id
),

orders as (
    select
        identity_map.customer_id,
        orders.ordered_at
    from {{ ref('int_orders_converted') }} as orders
    inner join identity_map on {{ is_identity_of('identity_map', 'shop', 'orders.shop_customer_id') }}
    where orders.is_revenue
),

abandoned_checkouts as (
    select
        identity_map.customer_id,
        checkouts.checkout_id,
        checkouts.created_at
    from {{ ref('stg_shop__checkouts') }} as checkouts
    inner join identity_map on {{ is_identity_of('identity_map', 'shop', 'checkouts.shop_customer_id') }}
    where not checkouts.is_completed
        and not exists (
            select 1
            from orders
            where orders.customer_id = identity_map.customer_id
                and orders.ordered_at >= checkouts.created_at
                and orders.ordered_at
                < {{ dbt.dateadd('day', var('cart_abandonment_days'), 'checkouts.created_at') }}
        )
),

cart_activity as (
    select
        customer_id,
        count(*) as abandoned_checkouts_count,
        max(created_at) as last_abandoned_checkout_at
    from abandoned_checkouts
    group by customer_id
)

select
    coalesce(site_activity.customer_id, cart_activity.customer_id) as customer_id,
    site_activity.last_seen_at,
    site_activity.last_product_viewed_at,
    coalesce(cart_activity.abandoned_checkouts_count, 0) as abandoned_checkouts_count,
    cart_activity.last_abandoned_checkout_at
from site_activity
full outer join cart_activity on site_activity.customer_id = cart_activity.customer_id
