with

source as (
    select * from {{ source('shop', 'checkouts__line_items') }}
),

latest_load as (
    -- lines are replaced per checkout: keep those of the checkout's newest load
    select
        *,
        max(_dlt_load_id) over (partition by checkout_id) as newest_load_id
    from source
)

select
    -- ids
    cast(checkout_id as bigint) as checkout_id,
    cast(product_id as bigint) as product_id,
    cast(variant_id as bigint) as variant_id,
    row_number() over (partition by checkout_id order by _dlt_id) as line_number,

    -- strings
    {{ clean_text('sku') }} as sku,
    {{ clean_text('title') }} as product_title,

    -- numerics (checkout currency)
    cast(quantity as integer) as quantity,
    {{ to_money('price') }} as unit_price

from latest_load
where _dlt_load_id = newest_load_id
