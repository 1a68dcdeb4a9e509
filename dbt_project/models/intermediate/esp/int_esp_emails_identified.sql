-- The person each email of the ESP belongs to, by the identity graph's own rule for emails: the address the
-- person's CRM contacts and Shopify customers carry, normalized as identity compares emails
-- (identity_normalize_email), role and test mailboxes excluded (is_role_email: many people write from them),
-- and an address held by the records of several people ties the ESP to none of them.
with

identity_map as (
    select * from {{ ref('customer_identity_map') }}
),

record_emails as (
    select
        identity_map.customer_id,
        contacts.email
    from {{ ref('stg_crm__contacts') }} as contacts
    inner join identity_map on {{ is_identity_of('identity_map', 'crm', 'contacts.contact_id') }}
    where contacts.email is not null

    union all

    select
        identity_map.customer_id,
        customers.email
    from {{ ref('stg_shop__customers') }} as customers
    inner join identity_map on {{ is_identity_of('identity_map', 'shop', 'customers.shop_customer_id') }}
    where customers.email is not null
),

keyed as (
    select distinct
        customer_id,
        {{ identity_normalize_email('email') }} as email_key
    from record_emails
    where not {{ is_role_email('email') }}
)

select
    email_key,
    min(customer_id) as customer_id
from keyed
group by email_key
having count(distinct customer_id) = 1
