-- Sessionized human events with the person who sent them: through the Segment userId when logged in,
-- else through the anonymousId (identity resolution links anonymous ids to people).
--
-- Only the columns its readers use (sessions, activity, consent, category interests): a table of every event
-- rebuilt on every run, because identity can move old events to another person. Carrying the whole event
-- (properties and traits JSON, user agent, urls) made it the widest table of the build and, with a second
-- dbt thread beside it, ran the medium build out of memory. fct_events has the full events.
with

events as (
    select
        message_id,
        anonymous_id,
        user_id,
        session_id,
        occurred_at,
        event_type,
        event_name,
        page_path,
        referrer,
        product_id,
        product_category
    from {{ ref('int_events_sessionized') }}
),

identity_map as (
    select * from {{ ref('customer_identity_map') }}
)

select
    events.*,
    coalesce(by_user.customer_id, by_device.customer_id) as customer_id
from events
left join identity_map as by_user on {{ is_identity_of('by_user', 'analytics', 'events.user_id') }}
left join identity_map as by_device on {{ is_identity_of('by_device', 'analytics', 'events.anonymous_id') }}
