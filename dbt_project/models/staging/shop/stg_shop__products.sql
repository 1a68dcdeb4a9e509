with

source as (
    select * from {{ source('shop', 'products') }}
),

latest as (
    select *, {{ version_rank_newest_first('id', 'updated_at') }} as version_rank
    from source
)

select
    -- ids
    cast(id as bigint) as product_id,

    -- strings
    {{ clean_text('title') }} as product_title,
    -- the category every interest score and dim_product_categories use
    coalesce({{ clean_text('product_type') }}, 'Uncategorized') as product_category,
    {{ clean_text('vendor') }} as vendor,
    lower({{ clean_text('handle') }}) as handle,
    lower({{ clean_text('status') }}) as product_status,
    {{ clean_text('tags') }} as tags,

    -- timestamps (UTC)
    {{ to_utc_timestamp('created_at') }} as created_at,
    {{ to_utc_timestamp('updated_at') }} as updated_at,
    {{ to_utc_timestamp('published_at') }} as published_at

from latest
where version_rank = 1
