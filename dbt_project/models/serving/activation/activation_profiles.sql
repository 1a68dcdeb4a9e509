-- One row per person the email platform may mail: email consent given and an email the project's one email
-- rule accepts (macros/standardize/email.sql). Columns in the order of docs/contracts.md section 4. Erased
-- people are deleted from the marts before a build and from the published copy after it (docs/serving.md).
select
    customer_id,
    {{ normalize_email('email') }} as email,
    first_name,
    last_name,
    country_code,
    email_consent,
    email_consent_source as consent_source,
    email_consent_at as consent_updated_at,
    rfm_segment,
    r_score,
    f_score,
    m_score,
    lifetime_value,
    orders_count,
    last_order_at,
    favourite_category,
    greatest(email_consent_at, last_order_at, last_seen_at, last_abandoned_checkout_at) as updated_at
from {{ ref('customer_profiles') }}
where
    email_consent
    and {{ is_valid_email('email') }}
