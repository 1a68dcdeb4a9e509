with

source as (
    select * from {{ source('helpdesk', 'ticket_comments') }}
),

sentiment as (
    select * from {{ source('helpdesk', 'ticket_comments__sentiment') }}
),

latest as (
    select *, {{ version_rank_newest_first('id', 'created_at') }} as version_rank
    from source
),

renamed as (
    select
        -- ids
        cast(latest.id as bigint) as comment_id,
        cast(latest.ticket_id as bigint) as ticket_id,
        cast(latest.author_id as bigint) as author_id,

        -- strings
        {{ clean_text('latest.body') }} as body,
        lower({{ clean_text('latest.via__channel') }}) as channel,

        -- numerics: VADER's compound score of the body (English only: see int_customers_support_summarized)
        sentiment.compound as sentiment_compound,

        -- booleans
        coalesce(latest.public, true) as is_public,

        -- timestamps (UTC)
        {{ to_utc_timestamp('latest.created_at') }} as created_at,
        {{ dlt_loaded_at() }} as loaded_at

    from latest
    -- a score belongs to the body it was computed from (a redaction is scored again at the next load)
    left join sentiment
        on latest.id = sentiment.comment_id
            and md5(coalesce(latest.body, '')) = sentiment.body_md5
    where latest.version_rank = 1
)

select * from renamed
