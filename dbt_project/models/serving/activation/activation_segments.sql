-- One row per person of activation.profiles and segment they are in: the platform's tags and audiences.
select
    segments.customer_id,
    profiles.email,
    segments.segment_name as segment,
    segments.reason,
    segments.member_since as since
from {{ ref('customer_segments') }} as segments
inner join {{ ref('activation_profiles') }} as profiles
    on segments.customer_id = profiles.customer_id
