-- The loader appends each action id once; a replayed load could still stage one twice, so the first load of
-- an id is kept, as for Segment's messages.
with

source as (
    select * from {{ source('mailchimp', 'email_activity') }}
),

first_loaded as (
    select *
    from source
    qualify row_number() over (partition by id order by _dlt_load_id, _dlt_id) = 1
),

renamed as (
    select
        -- ids
        cast(id as varchar) as activity_id,
        campaign_id,
        list_id,
        email_id as member_id,

        -- strings
        {{ normalize_email('email_address') }} as email,
        lower({{ clean_text('action') }}) as activity_type,
        case when lower({{ clean_text('action') }}) = 'bounce' then lower({{ clean_text('"type"') }}) end
            as bounce_type,
        {{ clean_text('url') }} as url,
        ip,

        -- booleans
        coalesce(lower({{ clean_text('action') }}) = 'bounce' and lower({{ clean_text('"type"') }}) = 'hard', false)
            as is_hard_bounce,

        -- timestamps (UTC)
        {{ to_utc_timestamp('"timestamp"') }} as occurred_at,
        {{ dlt_loaded_at() }} as loaded_at

    from first_loaded
)

select * from renamed
