-- CRM contacts and Shopify customers with the attributes fuzzy matching compares, normalized so that equal
-- values compare equal: names to lower-case letters (first names, and last names read as swapped first names,
-- to their nickname group), postal codes
-- and address lines to letters and digits. One row per record_key.

with

contacts as (
    select * from {{ ref('stg_crm__contacts') }}
),

shop_customers as (
    select * from {{ ref('stg_shop__customers') }}
),

nicknames as (
    select * from {{ ref('identity_nicknames') }}
),

people as (
    select
        'crm' as source_system,
        contact_id as source_id,
        first_name,
        last_name,
        coalesce(phone_e164, mobile_phone_e164) as phone_e164,
        address_line,
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
        phone_e164,
        {{ identity_normalize_alphanumeric('address_line') }} as address_normalized,
        {{ identity_normalize_alphanumeric('postal_code') }} as postal_code_normalized,
        country_code,
        date_of_birth
    from people
)

select
    normalized.record_key,
    normalized.source_system,
    coalesce(nicknames.name_group, normalized.first_name_normalized) as first_name_group,
    normalized.last_name_normalized,
    -- the last name read as a first name, for records whose first and last names were swapped
    coalesce(last_name_nicknames.name_group, normalized.last_name_normalized) as last_name_group,
    normalized.phone_e164,
    normalized.address_normalized,
    normalized.postal_code_normalized,
    normalized.country_code,
    normalized.date_of_birth
from normalized
left join nicknames
    on normalized.first_name_normalized = nicknames.first_name
left join nicknames as last_name_nicknames
    on normalized.last_name_normalized = last_name_nicknames.first_name
