-- Sessionized human events with the person who sent them: through the Segment userId when logged in,
-- else through the anonymousId (identity resolution links anonymous ids to people).
with

events as (
    select * from {{ ref('int_events_sessionized') }}
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
