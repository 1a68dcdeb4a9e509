-- One row per person of customer_profiles the email platform may not mail, with the one reason why: the
-- audience's rule, written once (activation_profiles is customer_profiles without these people). Consent
-- comes first (the legal reason), then the address; values described in _activation__models.yml.
with

profiles as (
    select
        customer_id,
        email,
        email_consent,
        email_consent_source
    from {{ ref('customer_profiles') }}
),

reasons as (
    select
        customer_id,
        case
            when not coalesce(email_consent, false) and email_consent_source is not null then 'consent_refused'
            when not coalesce(email_consent, false) then 'consent_missing'
            when {{ clean_email('email') }} is null then 'no_email'
            when not {{ is_valid_email('email') }} then 'invalid_email'
        end as reason
    from profiles
)

select
    customer_id,
    reason
from reasons
where reason is not null
