with

source as (
    select * from {{ source('shop', 'orders') }}
),

latest as (
    select *, {{ version_rank_newest_first('id', 'updated_at') }} as version_rank
    from source
),

renamed as (
    select
        -- ids
        cast(id as bigint) as order_id,
        cast(customer__id as bigint) as shop_customer_id,
        {{ clean_text('name') }} as order_name,
        cast(order_number as bigint) as order_number,

        -- strings
        {{ normalize_email('email') }} as email,
        email as email_raw,
        {{ to_currency_code('currency') }} as currency_code,
        lower({{ clean_text('financial_status') }}) as financial_status,
        lower({{ clean_text('fulfillment_status') }}) as fulfillment_status,
        lower({{ clean_text('cancel_reason') }}) as cancel_reason,
        lower({{ clean_text('source_name') }}) as source_name,
        {{ clean_text('shipping_address__city') }} as shipping_city,
        {{ clean_text('shipping_address__zip') }} as shipping_postal_code,
        {{ clean_text('shipping_address__province') }} as shipping_province,
        coalesce(
            {{ country_to_iso2('shipping_address__country_code') }},
            {{ country_to_iso2('shipping_address__country') }}
        ) as shipping_country_code,

        -- numerics (order currency)
        {{ to_money('subtotal_price') }} as subtotal_amount,
        {{ to_money('total_tax') }} as tax_amount,
        {{ to_money('total_discounts') }} as discount_amount,
        {{ to_money('total_price') }} as total_amount,

        -- booleans
        -- Shopify's test flag, or a staff test address (var test_order_email_pattern, a deployment setting)
        coalesce(test, false) or {{ is_test_order_email('email') }} as is_test,
        cancelled_at is not null as is_cancelled,

        -- timestamps (UTC)
        {{ to_utc_timestamp('coalesce(processed_at, created_at)') }} as ordered_at,
        {{ to_utc_timestamp('cancelled_at') }} as cancelled_at,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('updated_at') }} as updated_at,
        {{ dlt_loaded_at() }} as loaded_at

    from latest
    where version_rank = 1
)

select
    * exclude (email_raw),
    {{ list_problems([
        problem_when_lost('email_raw', 'email', 'invalid email'),
        "case when is_test then 'test order' end",
        "case when currency_code is null then 'missing currency' end",
        "case when total_amount < 0 then 'negative total' end",
    ]) }} as invalid_reason
from renamed
