-- CRM contacts and Shopify customers with the attributes the match model compares, normalized so that equal
-- values compare equal: names to lower-case letters, address lines, postal codes and cities to letters and
-- digits, dates of birth also as 'yyyymmdd' text (for one-digit-off comparisons). Junk identifiers are
-- nulled here, so that they are never evidence: phones of one repeated digit or too short. One row per record.

with

contacts as (
    select * from {{ ref('stg_crm__contacts') }}
),

shop_customers as (
    select * from {{ ref('stg_shop__customers') }}
),

people as (
    select
        'crm' as source_system,
        contact_id as source_id,
        first_name,
        last_name,
        coalesce(phone_e164, mobile_phone_e164) as phone_e164,
        address_line,
        city,
        postal_code,
        country_code,
        date_of_birth
    from contacts

    union all

    select
        'shop',
        cast(shop_customer_id as {{ dbt.type_string() }}),
        first_name,
        last_name,
        phone_e164,
        address_line,
        city,
        postal_code,
        country_code,
        cast(null as date)
    from shop_customers
),

normalized as (
    select
        {{ identity_record_key('source_system', 'source_id') }} as record_key,
        source_system,
        {{ identity_normalize_name('first_name') }} as first_name_normalized,
        {{ identity_normalize_name('last_name') }} as last_name_normalized,
        case when not {{ identity_is_junk_phone('phone_e164') }} then phone_e164 end as phone_e164,
        {{ identity_normalize_alphanumeric('address_line') }} as address_normalized,
        {{ identity_normalize_alphanumeric('city') }} as city_normalized,
        {{ identity_normalize_alphanumeric('postal_code') }} as postal_code_normalized,
        country_code,
        date_of_birth
    from people
)

select
    normalized.*,
    {{ identity_house_number('normalized.address_normalized') }} as house_number,
    {{ identity_date_digits('normalized.date_of_birth') }} as date_of_birth_digits
from normalized
