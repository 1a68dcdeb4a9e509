with

source as (
    select * from {{ source('shop', 'customers') }}
),

latest as (
    select *, {{ version_rank_newest_first('id', 'updated_at') }} as version_rank
    from source
),

renamed as (
    select
        -- ids
        cast(id as bigint) as shop_customer_id,

        -- strings
        {{ normalize_email('email') }} as email,
        {{ is_valid_email('email') }} as is_email_valid,
        email as email_raw,
        {{ clean_text('first_name') }} as first_name,
        {{ clean_text('last_name') }} as last_name,
        coalesce({{ clean_text('phone') }}, {{ clean_text('default_address__phone') }}) as phone_raw,
        {{ clean_text('default_address__address1') }} as address_line,
        {{ clean_text('default_address__city') }} as city,
        {{ clean_text('default_address__province') }} as province,
        {{ clean_text('default_address__zip') }} as postal_code,
        coalesce({{ clean_text('default_address__country_code') }}, default_address__country) as country_raw,
        coalesce(
            {{ country_to_iso2('default_address__country_code') }},
            {{ country_to_iso2('default_address__country') }}
        ) as country_code,
        lower({{ clean_text('state') }}) as account_state,
        lower({{ clean_text('email_marketing_consent__state') }}) as email_consent_state,
        lower({{ clean_text('email_marketing_consent__opt_in_level') }}) as email_consent_opt_in_level,
        {{ to_currency_code('currency') }} as currency_code,
        {{ clean_text('tags') }} as tags,

        -- numerics
        cast(orders_count as integer) as orders_count,
        {{ to_money('total_spent') }} as total_spent,

        -- booleans
        verified_email as is_email_verified,
        accepts_marketing,
        -- Explicit unsubscription anywhere wins; otherwise the newer consent object, then the legacy flag.
        case
            when lower(email_marketing_consent__state) = 'unsubscribed' or accepts_marketing = false then false
            when lower(email_marketing_consent__state) = 'subscribed' or accepts_marketing then true
            else false
        end as accepts_email_marketing,

        -- timestamps (UTC)
        {{ to_utc_timestamp('email_marketing_consent__consent_updated_at') }} as email_consent_updated_at,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('updated_at') }} as updated_at,
        {{ dlt_loaded_at() }} as loaded_at

    from latest
    where version_rank = 1
),

standardized as (
    select *, {{ to_e164('phone_raw', 'country_code') }} as phone_e164
    from renamed
)

select
    shop_customer_id,
    email, is_email_valid, first_name, last_name, phone_e164,
    address_line, city, province, postal_code, country_code,
    account_state, email_consent_state, email_consent_opt_in_level, currency_code, tags,
    orders_count, total_spent,
    is_email_verified, accepts_marketing, accepts_email_marketing,
    email_consent_updated_at, created_at, updated_at, loaded_at,
    {{ list_problems([
        problem_when_lost('email_raw', 'email', 'invalid email'),
        phone_problem('phone_raw', 'country_code', 'phone'),
        problem_when_lost('country_raw', 'country_code', 'unknown country'),
    ]) }} as invalid_reason
from standardized
