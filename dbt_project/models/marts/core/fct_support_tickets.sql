-- One row per helpdesk ticket (Zendesk), with the person it is for: status, priority, channel, the customer's
-- satisfaction rating and the conversation's size and sentiment. Tickets deleted in Zendesk are left out; the
-- text (subject, comments) stays in staging, which erasure covers.
with

tickets as (
    select * from {{ ref('stg_zendesk__tickets') }}
    where not is_deleted
),

comments as (
    select * from {{ ref('stg_zendesk__ticket_comments') }}
),

identity_map as (
    select * from {{ ref('customer_identity_map') }}
),

customers as (
    select * from {{ ref('dim_customers') }}
),

conversation as (
    select
        comments.ticket_id,
        count(*) as comments_count,
        count(*) filter (where comments.author_id = tickets.requester_id) as requester_comments_count,
        -- VADER is English only: averaged over every comment of the requester, whatever the language
        avg(comments.sentiment_compound) filter (where comments.author_id = tickets.requester_id)
            as requester_sentiment_score,
        min(comments.created_at) filter (where comments.author_id <> tickets.requester_id) as first_reply_at
    from comments
    inner join tickets on comments.ticket_id = tickets.ticket_id
    group by comments.ticket_id
)

select
    {{ surrogate_key(['tickets.ticket_id']) }} as ticket_key,
    tickets.ticket_id,
    -- a person known to the CRM or the shop; null for people only the helpdesk knows
    customers.customer_key,
    identity_map.customer_id,
    cast(tickets.created_at as date) as created_date,
    tickets.created_at,
    tickets.updated_at,
    tickets.ticket_status,
    tickets.priority,
    tickets.ticket_type,
    tickets.channel,
    tickets.satisfaction_score,
    tickets.is_satisfied,
    tickets.is_open,
    coalesce(conversation.comments_count, 0) as comments_count,
    coalesce(conversation.requester_comments_count, 0) as requester_comments_count,
    conversation.requester_sentiment_score,
    conversation.first_reply_at
from tickets
left join identity_map on {{ is_identity_of('identity_map', 'helpdesk', 'tickets.requester_id') }}
left join customers on identity_map.customer_id = customers.customer_id
left join conversation on tickets.ticket_id = conversation.ticket_id
