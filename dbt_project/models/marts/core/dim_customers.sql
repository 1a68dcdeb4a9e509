-- People known to the CRM or the shop, one row per resolved customer_id, with their golden attributes.
with

customers as (
    select * from {{ ref('int_customers_merged') }}
)

select
    {{ surrogate_key(['customers.customer_id']) }} as customer_key,
    customers.customer_id,
    {{ surrogate_key(['customers.country_code', 'customers.region', 'customers.city', 'customers.postal_code']) }}
        as location_key,
    customers.email,
    customers.first_name,
    customers.last_name,
    customers.phone_e164,
    customers.date_of_birth,
    customers.source_systems_count,
    customers.first_seen_at
from customers
