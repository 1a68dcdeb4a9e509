-- Email consent per person from every source's consent signals. An opt-out anywhere wins (the latest
-- opt-out is kept as the deciding event); otherwise the latest opt-in. No signal at all: no consent.
with

identity_map as (
    select * from {{ ref('customer_identity_map') }}
),

consent_events as (
    select
        identity_map.customer_id,
        'crm' as consent_source,
        not contacts.is_email_opted_out as is_opted_in,
        contacts.updated_at as consent_at
    from {{ ref('stg_crm__contacts') }} as contacts
    inner join identity_map on {{ is_identity_of('identity_map', 'crm', 'contacts.contact_id') }}

    union all

    select
        identity_map.customer_id,
        'shop' as consent_source,
        customers.accepts_email_marketing as is_opted_in,
        coalesce(customers.email_consent_updated_at, customers.updated_at) as consent_at
    from {{ ref('stg_shop__customers') }} as customers
    inner join identity_map on {{ is_identity_of('identity_map', 'shop', 'customers.shop_customer_id') }}

    union all

    select
        events.customer_id,
        'analytics' as consent_source,
        false as is_opted_in,
        events.occurred_at as consent_at
    from {{ ref('int_events_attributed') }} as events
    where events.event_type = 'track'
        and events.event_name = 'Unsubscribed'
        and events.customer_id is not null

    union all

    -- the ESP withdraws consent when its newest event is an unsubscribe or spam complaint. Its subscribes are
    -- no consent of their own: most are the sync's own subscribes of people consented elsewhere.
    select
        esp.customer_id,
        'mailchimp' as consent_source,
        false as is_opted_in,
        esp.consent_at
    from {{ ref('int_esp_consent_events') }} as esp
    where not esp.is_opted_in
),

ranked as (
    select
        *,
        -- opt-outs first, then the latest
        row_number() over (partition by customer_id order by is_opted_in asc, consent_at desc, consent_source asc)
            as decision_rank
    from consent_events
)

select
    customer_id,
    is_opted_in as email_consent,
    consent_source as email_consent_source,
    consent_at as email_consent_at
from ranked
where decision_rank = 1
