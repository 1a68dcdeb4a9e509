-- The ESP's say on each person's email consent: the newest subscribe or unsubscribe Mailchimp reported for
-- any of the person's addresses, from the members' status (its last change) and from the webhooks. A spam
-- complaint is an unsubscribe. Within the ESP the newest event wins (a member who unsubscribed and later
-- subscribed again is subscribed); cleaned and pending members say nothing about consent (a cleaned address
-- is suppressed: email_suppressions).
with

emails as (
    select * from {{ ref('int_esp_emails_identified') }}
),

events as (
    select
        email,
        status = 'subscribed' as is_opted_in,
        is_spam_complaint,
        last_changed_at as consent_at
    from {{ ref('stg_mailchimp__members') }}
    where status in ('subscribed', 'unsubscribed') and email is not null

    union all

    select
        email,
        event_type = 'subscribe' as is_opted_in,
        is_spam_complaint,
        fired_at as consent_at
    from {{ ref('stg_mailchimp__webhook_events') }}
    where event_type in ('subscribe', 'unsubscribe') and email is not null
),

identified as (
    select
        emails.customer_id,
        events.is_opted_in,
        events.is_spam_complaint,
        events.consent_at
    from events
    inner join emails on {{ identity_normalize_email('events.email') }} = emails.email_key
)

select
    customer_id,
    is_opted_in,
    is_spam_complaint,
    consent_at
from identified
-- the newest; at one time an unsubscribe before a subscribe
qualify row_number() over (partition by customer_id order by consent_at desc, is_opted_in asc) = 1
