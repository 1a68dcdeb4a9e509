-- One golden record per person known to the CRM or the shop: each attribute from the freshest member
-- record that has it, the shop (where people type their own details) before the CRM on ties.
with

identity_map as (
    select * from {{ ref('customer_identity_map') }}
),

members as (
    select
        identity_map.customer_id,
        'shop' as source_system,
        1 as source_priority,
        customers.updated_at,
        customers.email,
        customers.first_name,
        customers.last_name,
        customers.phone_e164,
        customers.city,
        customers.postal_code,
        customers.province as region,
        customers.country_code,
        cast(null as date) as date_of_birth,
        customers.created_at
    from {{ ref('stg_shop__customers') }} as customers
    inner join identity_map on {{ is_identity_of('identity_map', 'shop', 'customers.shop_customer_id') }}

    union all

    select
        identity_map.customer_id,
        'crm' as source_system,
        2 as source_priority,
        contacts.updated_at,
        contacts.email,
        contacts.first_name,
        contacts.last_name,
        coalesce(contacts.mobile_phone_e164, contacts.phone_e164) as phone_e164,
        contacts.city,
        contacts.postal_code,
        contacts.state as region,
        contacts.country_code,
        contacts.date_of_birth,
        contacts.created_at
    from {{ ref('stg_crm__contacts') }} as contacts
    inner join identity_map on {{ is_identity_of('identity_map', 'crm', 'contacts.contact_id') }}
    where not contacts.is_archived
)

select
    customer_id,
    {% for attribute in [
        'email', 'first_name', 'last_name', 'phone_e164', 'city', 'postal_code', 'region', 'country_code',
        'date_of_birth',
    ] -%}
    {{ freshest_value(attribute, 'updated_at desc, source_priority') }} as {{ attribute }},
    {% endfor -%}
    count(distinct source_system) as source_systems_count,
    min(created_at) as first_seen_at
from members
group by customer_id
