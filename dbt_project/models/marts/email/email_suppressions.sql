-- Addresses the ESP says cannot be mailed: cleaned by Mailchimp (a member's status or a `cleaned` webhook) or
-- hard-bounced in a campaign, unless a newer subscribe of the same address followed (a person who signed up
-- again). One row per address (normalize_email), with the newest suppressing event.
with

suppressing as (
    select
        email,
        last_changed_at as occurred_at,
        'cleaned' as reason
    from {{ ref('stg_mailchimp__members') }}
    where status = 'cleaned'

    union all

    select
        email,
        fired_at as occurred_at,
        'cleaned' as reason
    from {{ ref('stg_mailchimp__webhook_events') }}
    where event_type = 'cleaned'

    union all

    select
        email,
        occurred_at,
        'hard_bounce' as reason
    from {{ ref('stg_mailchimp__email_activity') }}
    where is_hard_bounce
),

subscribes as (
    select
        email,
        last_changed_at as occurred_at
    from {{ ref('stg_mailchimp__members') }}
    where status = 'subscribed'

    union all

    select
        email,
        fired_at as occurred_at
    from {{ ref('stg_mailchimp__webhook_events') }}
    where event_type = 'subscribe'
),

resubscribed as (
    select
        email,
        max(occurred_at) as resubscribed_at
    from subscribes
    group by email
),

newest as (
    select *
    from suppressing
    where email is not null
    qualify row_number() over (partition by email order by occurred_at desc, reason asc) = 1
)

select
    newest.email,
    newest.reason,
    newest.occurred_at as suppressed_at
from newest
left join resubscribed on newest.email = resubscribed.email
where resubscribed.resubscribed_at is null or resubscribed.resubscribed_at < newest.occurred_at
