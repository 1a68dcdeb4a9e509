with

source as (
    select * from {{ source('helpdesk', 'users') }}
),

latest as (
    select *, {{ version_rank_newest_first('id', 'updated_at') }} as version_rank
    from source
),

renamed as (
    select
        -- ids
        cast(id as bigint) as helpdesk_user_id,

        -- strings
        {{ normalize_email('email') }} as email,
        {{ is_valid_email('email') }} as is_email_valid,
        email as email_raw,
        {{ clean_text('name') }} as user_name,
        {{ clean_text('phone') }} as phone_raw,
        lower({{ clean_text('"role"') }}) as user_role,
        lower({{ clean_text('locale') }}) as user_locale,

        -- booleans
        coalesce(lower({{ clean_text('"role"') }}) in ('agent', 'admin'), false) as is_agent,
        -- Zendesk keeps a deleted user in its export with active = false
        coalesce(not active, false) as is_deleted,
        coalesce(suspended, false) as is_suspended,

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
        -- Zendesk users carry no country: only international numbers (+..., 00...) can be read
        {{ to_e164('phone_raw', 'null') }} as phone_e164,
        -- Zendesk names a user who only ever emailed after their mailbox: no name of a person
        case
            when user_name is null or lower(user_name) = split_part(email, '@', 1) then null
            else user_name
        end as person_name
    from renamed
)

select
    helpdesk_user_id,
    email, is_email_valid, person_name, phone_e164, user_role, user_locale,
    is_agent, is_deleted, is_suspended,
    created_at, updated_at, loaded_at,
    {{ list_problems([
        problem_when_lost('email_raw', 'email', 'invalid email'),
        phone_problem('phone_raw', 'null', 'phone'),
    ]) }} as invalid_reason
from standardized
