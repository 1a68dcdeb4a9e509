-- One row per customer who wrote to the helpdesk: open tickets, the last satisfaction rating, and the mean
-- sentiment of what they wrote lately. The sentiment is VADER's (scored at load time, stg_zendesk__ticket_comments),
-- a lexicon of English: only comments of users whose Zendesk locale is English count, and a customer who wrote
-- in another language has no sentiment rather than a neutral one.
with

identity_map as (
    select * from {{ ref('customer_identity_map') }}
    where source_system = 'helpdesk'
),

users as (
    select * from {{ ref('stg_zendesk__users') }}
    where not is_agent
),

tickets as (
    select * from {{ ref('stg_zendesk__tickets') }}
    where not is_deleted
),

comments as (
    select * from {{ ref('stg_zendesk__ticket_comments') }}
),

customer_users as (
    select
        identity_map.customer_id,
        users.helpdesk_user_id,
        users.user_locale
    from users
    inner join identity_map on {{ is_identity_of('identity_map', 'helpdesk', 'users.helpdesk_user_id') }}
),

customer_tickets as (
    select
        customer_users.customer_id,
        tickets.*
    from tickets
    inner join customer_users on tickets.requester_id = customer_users.helpdesk_user_id
),

ticket_summary as (
    select
        customer_id,
        count(*) as tickets_count,
        count(*) filter (where is_open) as open_tickets_count,
        max(created_at) as last_ticket_at,
        -- offered / unoffered: the customer gave no rating
        {{ freshest_value("case when satisfaction_score in ('good', 'bad') then satisfaction_score end",
                          'updated_at desc, ticket_id desc') }} as last_csat_score,
        max(updated_at) filter (where satisfaction_score in ('good', 'bad')) as last_csat_at
    from customer_tickets
    group by customer_id
),

recent_sentiment as (
    select
        customer_users.customer_id,
        avg(comments.sentiment_compound) as sentiment_score,
        count(*) as sentiment_comments_count
    from comments
    inner join customer_users on comments.author_id = customer_users.helpdesk_user_id
    where comments.sentiment_compound is not null
        and customer_users.user_locale like 'en%'
        and comments.created_at
        >= {{ dbt.dateadd('day', -1 * var('support_sentiment_window_days'), as_of_timestamp()) }}
        and comments.created_at <= {{ as_of_timestamp() }}
    group by customer_users.customer_id
)

select
    ticket_summary.customer_id,
    ticket_summary.tickets_count,
    ticket_summary.open_tickets_count,
    ticket_summary.last_ticket_at,
    ticket_summary.last_csat_score,
    ticket_summary.last_csat_at,
    recent_sentiment.sentiment_score as sentiment_score_30d,
    coalesce(recent_sentiment.sentiment_comments_count, 0) as sentiment_comments_30d,
    ticket_summary.open_tickets_count > 0
    and (
        recent_sentiment.sentiment_score <= {{ var('support_negative_sentiment_threshold') }}
        or ticket_summary.last_csat_score = 'bad'
    ) is true as has_open_complaint
from ticket_summary
left join recent_sentiment on ticket_summary.customer_id = recent_sentiment.customer_id
