with

source as (
    select * from {{ source('shop', 'products__variants') }}
),

latest as (
    select *, {{ version_rank_newest_first('id', 'updated_at') }} as version_rank
    from source
)

select
    -- ids
    cast(id as bigint) as variant_id,
    cast(product_id as bigint) as product_id,

    -- strings
    {{ clean_text('title') }} as variant_title,
    {{ clean_text('sku') }} as sku,

    -- numerics (shop currency)
    {{ to_money('price') }} as price,

    -- timestamps (UTC)
    {{ to_utc_timestamp('created_at') }} as created_at,
    {{ to_utc_timestamp('updated_at') }} as updated_at

from latest
where version_rank = 1
