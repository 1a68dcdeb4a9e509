with

source as (
    select * from {{ source('crm', 'contacts') }}
),

latest as (
    select *, {{ version_rank_newest_first('id', 'updated_at') }} as version_rank
    from source
),

renamed as (
    select
        -- ids
        cast(id as varchar) as contact_id,

        -- strings
        {{ normalize_email('email') }} as email,
        {{ is_valid_email('email') }} as is_email_valid,
        email as email_raw,
        {{ clean_text('firstname') }} as first_name,
        {{ clean_text('lastname') }} as last_name,
        phone as phone_raw,
        mobilephone as mobile_phone_raw,
        {{ clean_text('address') }} as address_line,
        {{ clean_text('city') }} as city,
        {{ clean_text('state') }} as state,
        {{ clean_text('zip') }} as postal_code,
        country as country_raw,
        {{ country_to_iso2('country') }} as country_code,
        date_of_birth as date_of_birth_raw,
        lower({{ clean_text('lifecyclestage') }}) as lifecycle_stage,

        -- booleans
        coalesce(lower({{ clean_text('hs_email_optout') }}) = 'true', false) as is_email_opted_out,
        coalesce(archived, false) as is_archived,

        -- timestamps (UTC)
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('updated_at') }} as updated_at,
        {{ dlt_loaded_at() }} as loaded_at

    from latest
    where version_rank = 1
),

standardized as (
    select
        *,
        {{ to_e164('phone_raw', 'country_code') }} as phone_e164,
        {{ to_e164('mobile_phone_raw', 'country_code') }} as mobile_phone_e164,
        {{ parse_date_of_birth('date_of_birth_raw', 'country_code') }} as date_of_birth,
        {{ date_of_birth_problem('date_of_birth_raw', 'country_code') }} as date_of_birth_problem
    from renamed
)

select
    contact_id,
    email, is_email_valid, first_name, last_name,
    phone_e164, mobile_phone_e164,
    address_line, city, state, postal_code, country_code,
    date_of_birth, lifecycle_stage,
    is_email_opted_out, is_archived,
    created_at, updated_at, loaded_at,
    {{ list_problems([
        problem_when_lost('email_raw', 'email', 'invalid email'),
        phone_problem('phone_raw', 'country_code', 'phone'),
        phone_problem('mobile_phone_raw', 'country_code', 'mobile phone'),
        problem_when_lost('country_raw', 'country_code', 'unknown country'),
        'date_of_birth_problem',
        "case when coalesce(email_raw, phone_raw, mobile_phone_raw, first_name, last_name) is null"
            ~ " then 'no contact details' end",
    ]) }} as invalid_reason
from standardized
