with

source as (
    select * from {{ source('shop', 'orders__discount_codes') }}
),

latest as (
    -- no id of its own: one code per order, the latest load wins
    select *, {{ version_rank_newest_first('order_id, upper(trim(code))', '_dlt_load_id') }} as version_rank
    from source
)

select
    -- ids
    cast(order_id as bigint) as order_id,

    -- strings
    upper(trim(code)) as discount_code,
    lower({{ clean_text('type') }}) as discount_type,

    -- numerics (order currency)
    {{ to_money('amount') }} as discount_amount

from latest
where version_rank = 1
