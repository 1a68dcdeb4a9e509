-- One row per browsing session of a person (bots and staff excluded), with its person when known.
with

events as (
    select * from {{ ref('int_events_attributed') }}
),

sessions as (
    select
        session_id,
        anonymous_id,
        {{ freshest_value('customer_id', 'occurred_at desc') }} as customer_id,
        min(occurred_at) as started_at,
        max(occurred_at) as ended_at,
        count(*) as events_count,
        count(case when event_type = 'page' then 1 end) as page_views_count,
        count(case when event_name = 'Product Viewed' then 1 end) as product_views_count,
        {{ freshest_value('page_path', 'occurred_at') }} as landing_page_path,
        {{ freshest_value('referrer', 'occurred_at') }} as referrer
    from events
    group by session_id, anonymous_id
)

select
    session_id as session_key,
    anonymous_id,
    case when customer_id is not null then {{ surrogate_key(['customer_id']) }} end as customer_key,
    cast(started_at as date) as session_date,
    started_at,
    ended_at,
    {{ dbt.datediff('started_at', 'ended_at', 'second') }} as duration_seconds,
    events_count,
    page_views_count,
    product_views_count,
    landing_page_path,
    referrer
from sessions
