with

source as (
    select * from {{ source('shop', 'checkouts') }}
),

latest as (
    select *, {{ version_rank_newest_first('id', 'updated_at') }} as version_rank
    from source
),

renamed as (
    select
        -- ids
        cast(id as bigint) as checkout_id,
        cast(customer__id as bigint) as shop_customer_id,
        {{ clean_text('token') }} as checkout_token,

        -- strings
        {{ normalize_email('email') }} as email,
        email as email_raw,
        {{ to_currency_code('currency') }} as currency_code,
        {{ clean_text('abandoned_checkout_url') }} as abandoned_checkout_url,

        -- numerics (checkout currency)
        {{ to_money('subtotal_price') }} as subtotal_amount,
        {{ to_money('total_price') }} as total_amount,

        -- booleans
        completed_at is not null as is_completed,

        -- timestamps (UTC)
        {{ to_utc_timestamp('completed_at') }} as completed_at,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('updated_at') }} as updated_at

    from latest
    where version_rank = 1
)

select
    * exclude (email_raw),
    {{ list_problems([problem_when_lost('email_raw', 'email', 'invalid email')]) }} as invalid_reason
from renamed
