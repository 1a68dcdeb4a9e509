with

source as (
    select * from {{ source('helpdesk', 'tickets') }}
),

latest as (
    select *, {{ version_rank_newest_first('id', 'updated_at') }} as version_rank
    from source
),

renamed as (
    select
        -- ids
        cast(id as bigint) as ticket_id,
        cast(requester_id as bigint) as requester_id,
        cast(assignee_id as bigint) as assignee_id,

        -- strings
        {{ clean_text('subject') }} as subject,
        lower({{ clean_text('status') }}) as ticket_status,
        lower({{ clean_text('priority') }}) as priority,
        lower({{ clean_text('type') }}) as ticket_type,
        lower({{ clean_text('via__channel') }}) as channel,
        tags as tags_json,
        lower({{ clean_text('satisfaction_rating__score') }}) as satisfaction_score,
        -- a rating the customer gave (offered / unoffered: none given)
        case lower(satisfaction_rating__score) when 'good' then true when 'bad' then false end as is_satisfied,

        -- booleans
        coalesce(lower(status) = 'deleted', false) as is_deleted,
        coalesce(lower(status) in ('new', 'open', 'pending', 'hold'), false) as is_open,

        -- timestamps (UTC)
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('updated_at') }} as updated_at,
        {{ dlt_loaded_at() }} as loaded_at

    from latest
    where version_rank = 1
)

select * from renamed
