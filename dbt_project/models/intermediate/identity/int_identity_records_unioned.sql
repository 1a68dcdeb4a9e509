-- Every source record identity resolution places: CRM contacts, Shopify customers, the Segment
-- anonymousIds and userIds seen in events, and the people who wrote to the helpdesk (Zendesk end users; agents
-- are staff). One row per record_key.

with

contacts as (
    select * from {{ ref('stg_crm__contacts') }}
),

shop_customers as (
    select * from {{ ref('stg_shop__customers') }}
),

helpdesk_users as (
    select * from {{ ref('stg_zendesk__users') }}
    where not is_agent
),

-- each branch reads its two columns of the events: a CTE of the events read twice would be materialized by
-- DuckDB with every column (at 10M events it spilled, and this model grew 46x for 10x the records)
analytics_ids as (
    select
        anonymous_id as source_id,
        occurred_at
    from {{ ref('stg_analytics__events') }}
    where anonymous_id is not null
    union all
    select
        user_id as source_id,
        occurred_at
    from {{ ref('stg_analytics__events') }}
    where user_id is not null
),

records as (
    select
        'crm' as source_system,
        contact_id as source_id,
        created_at as first_seen_at
    from contacts

    union all

    select
        'shop' as source_system,
        cast(shop_customer_id as {{ dbt.type_string() }}) as source_id,
        created_at as first_seen_at
    from shop_customers

    union all

    select
        'analytics' as source_system,
        source_id,
        min(occurred_at) as first_seen_at
    from analytics_ids
    group by source_id

    union all

    select
        'helpdesk' as source_system,
        cast(helpdesk_user_id as {{ dbt.type_string() }}) as source_id,
        created_at as first_seen_at
    from helpdesk_users
)

select
    {{ identity_record_key('source_system', 'source_id') }} as record_key,
    source_system,
    source_id,
    first_seen_at
from records
