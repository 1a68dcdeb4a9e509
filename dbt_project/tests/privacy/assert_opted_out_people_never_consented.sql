-- Consent: whoever opted out or unsubscribed in any source is never email-ready. Opt-outs are read
-- here from the sources' own signals, independently of int_customers_consent_resolved: HubSpot
-- hs_email_optout, Shopify email_marketing_consent 'unsubscribed' or accepts_marketing false, a Segment
-- `Unsubscribed` track event. Returns the consented profiles of such a person (by identity or by email): none.
-- In Dagster it is a blocking check on customer_profiles: a failure keeps the serving copy at its last good state.
{{ config(meta={'dagster': {'ref': {'name': 'customer_profiles'}}}) }}
with

opted_out_records as (
    select
        'crm' as source_system,
        contact_id as source_id,
        email
    from {{ ref('stg_crm__contacts') }}
    where is_email_opted_out

    union all

    select
        'shop' as source_system,
        cast(shop_customer_id as {{ dbt.type_string() }}) as source_id,
        email
    from {{ ref('stg_shop__customers') }}
    where email_consent_state = 'unsubscribed' or accepts_marketing = false

    union all

    select
        'analytics' as source_system,
        unnest([anonymous_id, user_id]) as source_id,
        coalesce(traits_email, {{ normalize_email(json_field_text('properties', 'email')) }}) as email
    from {{ ref('stg_analytics__events') }}
    where event_type = 'track' and event_name = 'Unsubscribed'
),

opted_out_customers as (
    select identity_map.customer_id
    from opted_out_records
    inner join {{ ref('customer_identity_map') }} as identity_map
        on opted_out_records.source_system = identity_map.source_system
            and opted_out_records.source_id = identity_map.source_id
)

select
    profiles.customer_id,
    'opted out under this identity' as why
from {{ ref('customer_profiles') }} as profiles
where profiles.email_consent
    and profiles.customer_id in (select opted_out_customers.customer_id from opted_out_customers)

union all

select
    profiles.customer_id,
    'opted out under this email' as why
from {{ ref('customer_profiles') }} as profiles
where profiles.email_consent
    and profiles.email in (
        select opted_out_records.email
        from opted_out_records
        where opted_out_records.email is not null
    )
