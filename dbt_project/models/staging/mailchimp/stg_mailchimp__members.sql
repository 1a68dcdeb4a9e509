with

source as (
    select * from {{ source('mailchimp', 'members') }}
),

latest as (
    select *, {{ version_rank_newest_first('id', 'last_changed') }} as version_rank
    from source
),

renamed as (
    select
        -- ids
        cast(id as varchar) as member_id,
        list_id,

        -- strings
        {{ normalize_email('email_address') }} as email,
        {{ is_valid_email('email_address') }} as is_email_valid,
        email_address as email_raw,
        {{ clean_text('merge_fields__fname') }} as first_name,
        {{ clean_text('merge_fields__lname') }} as last_name,
        lower({{ clean_text('status') }}) as status,
        {{ clean_text('unsubscribe_reason') }} as unsubscribe_reason,
        upper({{ clean_text('location__country_code') }}) as country_code,
        {{ clean_text('"language"') }} as member_language,

        -- numerics
        member_rating,

        -- booleans
        lower({{ clean_text('status') }}) = 'subscribed' as is_subscribed,
        {{ esp_is_spam_complaint('unsubscribe_reason') }} as is_spam_complaint,

        -- timestamps (UTC); Mailchimp sends "" for a signup or opt-in time it does not know
        {{ to_utc_timestamp(try_cast(clean_text('timestamp_signup'), dbt.type_timestamp() ~ ' with time zone')) }}
            as signed_up_at,
        {{ to_utc_timestamp(try_cast(clean_text('timestamp_opt'), dbt.type_timestamp() ~ ' with time zone')) }}
            as opted_in_at,
        {{ to_utc_timestamp('last_changed') }} as last_changed_at,
        {{ dlt_loaded_at() }} as loaded_at

    from latest
    where version_rank = 1
)

select
    member_id, list_id,
    email, is_email_valid, first_name, last_name, status, unsubscribe_reason, country_code, member_language,
    member_rating,
    is_subscribed, is_spam_complaint,
    signed_up_at, opted_in_at, last_changed_at, loaded_at,
    {{ list_problems([problem_when_lost('email_raw', 'email', 'invalid email')]) }} as invalid_reason
from renamed
