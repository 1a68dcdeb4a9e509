-- The identifiers that deterministically tie records together, one row per (record, key): normalized emails
-- (CRM, Shopify, Segment traits.email) and the Shopify customer id, which Segment sends as userId. An
-- anonymousId carries the keys of the userIds and traits emails it was seen with, unless it was seen with
-- several (a shared device links nobody). Role and test mailboxes (info@, noreply@, test@: macro
-- is_role_email) are no key: many people write from them. Phones are no key either: a household shares one,
-- so a phone is evidence for the match model (int_identity_pairs_scored), not proof. Zendesk end users' emails
-- are keys like the others; agents are staff, not customers, and carry none.

with

contacts as (
    select * from {{ ref('stg_crm__contacts') }}
),

shop_customers as (
    select
        cast(shop_customer_id as {{ dbt.type_string() }}) as shop_customer_id,
        email
    from {{ ref('stg_shop__customers') }}
),

events as (
    select * from {{ ref('stg_analytics__events') }}
),

helpdesk_users as (
    select
        cast(helpdesk_user_id as {{ dbt.type_string() }}) as helpdesk_user_id,
        email
    from {{ ref('stg_zendesk__users') }}
    where not is_agent
),

event_identities as (
    select distinct
        anonymous_id,
        user_id,
        {{ identity_normalize_email('traits_email') }} as email
    from events
    where user_id is not null or traits_email is not null
),

shared_devices as (
    select anonymous_id
    from event_identities
    where anonymous_id is not null
    group by anonymous_id
    having count(distinct user_id) > {{ var('identity_max_identities_per_anonymous_id') }}
        or count(distinct email) > {{ var('identity_max_identities_per_anonymous_id') }}
),

keys as (
    select
        'crm' as source_system,
        contact_id as source_id,
        'email' as key_type,
        {{ identity_normalize_email('email') }} as key_value
    from contacts
    union all
    select
        'shop' as source_system,
        shop_customer_id as source_id,
        'email' as key_type,
        {{ identity_normalize_email('email') }} as key_value
    from shop_customers
    union all
    select
        'shop' as source_system,
        shop_customer_id as source_id,
        'shopify_customer_id' as key_type,
        shop_customer_id as key_value
    from shop_customers
    union all
    select
        'analytics' as source_system,
        user_id as source_id,
        'shopify_customer_id' as key_type,
        user_id as key_value
    from event_identities
    union all
    select
        'analytics' as source_system,
        user_id as source_id,
        'email' as key_type,
        email as key_value
    from event_identities
    union all
    select
        'analytics' as source_system,
        anonymous_id as source_id,
        'shopify_customer_id' as key_type,
        user_id as key_value
    from event_identities
    where event_identities.anonymous_id not in (select shared_devices.anonymous_id from shared_devices)
    union all
    select
        'analytics' as source_system,
        anonymous_id as source_id,
        'email' as key_type,
        email as key_value
    from event_identities
    where event_identities.anonymous_id not in (select shared_devices.anonymous_id from shared_devices)
    union all
    select
        'helpdesk' as source_system,
        helpdesk_user_id as source_id,
        'email' as key_type,
        {{ identity_normalize_email('email') }} as key_value
    from helpdesk_users
)

select distinct
    {{ identity_record_key('source_system', 'source_id') }} as record_key,
    source_system,
    source_id,
    key_type,
    key_value
from keys
where source_id is not null
    and key_value is not null
    and not (key_type = 'email' and {{ is_role_email('key_value') }})
