-- One row per person of customer_profiles the email platform may not mail, with the one reason why: the
-- audience's rule, written once (activation_profiles is customer_profiles without these people). Consent
-- comes first (the legal reason), then the address (an address the ESP cleaned or saw bounce hard is
-- suppressed: email_suppressions); values described in _activation__models.yml.
with

profiles as (
    select
        customer_id,
        email,
        email_consent,
        email_consent_source
    from {{ ref('customer_profiles') }}
),

suppressed as (
    select email from {{ ref('email_suppressions') }}
),

reasons as (
    select
        profiles.customer_id,
        case
            when not coalesce(profiles.email_consent, false) and profiles.email_consent_source is not null
                then 'consent_refused'
            when not coalesce(profiles.email_consent, false) then 'consent_missing'
            when {{ clean_email('profiles.email') }} is null then 'no_email'
            when not {{ is_valid_email('profiles.email') }} then 'invalid_email'
            when suppressed.email is not null then 'address_suppressed'
        end as reason
    from profiles
    left join suppressed on {{ normalize_email('profiles.email') }} = suppressed.email
)

select
    customer_id,
    reason
from reasons
where reason is not null
