-- One row per person the email platform may mail: every customer profile activation_exclusions does not
-- exclude (email consent given, an email the project's one email rule accepts: macros/standardize/email.sql).
-- Columns in the order of docs/contracts.md section 4. Erased people are deleted from the marts before a build
-- and from the published copy after it (docs/serving.md).
select
    profiles.customer_id,
    {{ normalize_email('profiles.email') }} as email,
    profiles.first_name,
    profiles.last_name,
    profiles.country_code,
    profiles.email_consent,
    profiles.email_consent_source as consent_source,
    profiles.email_consent_at as consent_updated_at,
    profiles.rfm_segment,
    profiles.r_score,
    profiles.f_score,
    profiles.m_score,
    profiles.lifetime_value,
    profiles.orders_count,
    profiles.last_order_at,
    profiles.favourite_category,
    greatest(
        profiles.email_consent_at, profiles.last_order_at, profiles.last_seen_at, profiles.last_abandoned_checkout_at
    ) as updated_at
from {{ ref('customer_profiles') }} as profiles
left join {{ ref('activation_exclusions') }} as exclusions
    on profiles.customer_id = exclusions.customer_id
where exclusions.customer_id is null
