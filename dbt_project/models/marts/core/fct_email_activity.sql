-- One row per thing a person did with a campaign email, as Mailchimp's email activity reports it: an open, a
-- click or a bounce (Mailchimp reports sends per campaign, not per person, so there is no send row). The person
-- is the one the address belongs to by the identity graph's email rule (int_esp_emails_identified); the
-- address itself stays in staging, which erasure covers.
with

activity as (
    select * from {{ ref('stg_mailchimp__email_activity') }}
),

emails as (
    select * from {{ ref('int_esp_emails_identified') }}
),

customers as (
    select * from {{ ref('dim_customers') }}
)

select
    {{ surrogate_key(['activity.activity_id']) }} as email_activity_key,
    activity.activity_id,
    activity.campaign_id,
    activity.list_id,
    -- a person known to the CRM or the shop; null for addresses no customer holds
    customers.customer_key,
    emails.customer_id,
    cast(activity.occurred_at as date) as occurred_date,
    activity.occurred_at,
    activity.activity_type,
    activity.bounce_type,
    activity.is_hard_bounce,
    activity.url
from activity
left join emails on {{ identity_normalize_email('activity.email') }} = emails.email_key
left join customers on emails.customer_id = customers.customer_id
