with

source as (
    select * from {{ source('shop', 'orders__refunds') }}
),

latest as (
    select *, {{ version_rank_newest_first('id', '_dlt_load_id') }} as version_rank
    from source
)

select
    -- ids
    cast(id as bigint) as refund_id,
    cast(order_id as bigint) as order_id,

    -- strings
    {{ clean_text('note') }} as refund_note,

    -- numerics (order currency)
    {{ to_money('amount') }} as refund_amount,

    -- timestamps (UTC)
    {{ to_utc_timestamp('coalesce(processed_at, created_at)') }} as refunded_at

from latest
where version_rank = 1
