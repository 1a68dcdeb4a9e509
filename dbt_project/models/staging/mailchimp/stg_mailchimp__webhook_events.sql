-- Webhooks Mailchimp posted, once per id (the collector derives it from the content, so Mailchimp's retries
-- are one event; the first load of an id is kept). `email` is the member's address after the event: the new
-- one of an upemail.
with

source as (
    select * from {{ source('mailchimp', 'webhook_events') }}
),

first_loaded as (
    select *
    from source
    qualify row_number() over (partition by id order by _dlt_load_id, _dlt_id) = 1
),

renamed as (
    select
        -- ids
        cast(id as varchar) as webhook_id,
        coalesce(data__new_id, data__id) as member_id,
        data__list_id as list_id,
        data__campaign_id as campaign_id,

        -- strings
        lower({{ clean_text('"type"') }}) as event_type,
        {{ normalize_email('coalesce(data__new_email, data__email)') }} as email,
        {{ normalize_email('data__old_email') }} as old_email,
        lower({{ clean_text('data__action') }}) as unsubscribe_action,
        lower({{ clean_text('data__reason') }}) as reason,
        {{ clean_text(json_field_text('data__merges', 'FNAME')) }} as first_name,
        {{ clean_text(json_field_text('data__merges', 'LNAME')) }} as last_name,

        -- booleans
        coalesce(
            lower({{ clean_text('"type"') }}) in ('unsubscribe', 'cleaned')
            and lower({{ clean_text('data__reason') }}) = 'abuse',
            false
        ) as is_spam_complaint,

        -- timestamps (UTC)
        {{ to_utc_timestamp('fired_at') }} as fired_at,
        {{ to_utc_timestamp('received_at') }} as received_at,
        {{ dlt_loaded_at() }} as loaded_at

    from first_loaded
)

select * from renamed
