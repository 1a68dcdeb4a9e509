with

source as (
    select * from {{ source('shop', 'orders__line_items') }}
),

latest as (
    select *, {{ version_rank_newest_first('id', '_dlt_load_id') }} as version_rank
    from source
),

renamed as (
    select
        -- ids
        cast(id as bigint) as order_line_id,
        cast(order_id as bigint) as order_id,
        cast(product_id as bigint) as product_id,
        cast(variant_id as bigint) as variant_id,

        -- strings
        {{ clean_text('sku') }} as sku,
        {{ clean_text('title') }} as product_title,
        {{ clean_text('vendor') }} as vendor,

        -- numerics (order currency)
        cast(quantity as integer) as quantity,
        {{ to_money('price') }} as unit_price,
        coalesce({{ to_money('total_discount') }}, 0) as discount_amount,
        {{ to_money('quantity * price - coalesce(total_discount, 0)') }} as line_amount

    from latest
    where version_rank = 1
)

select
    *,
    {{ list_problems([
        "case when quantity <= 0 then 'non-positive quantity' end",
        "case when unit_price < 0 then 'negative price' end",
    ]) }} as invalid_reason
from renamed
