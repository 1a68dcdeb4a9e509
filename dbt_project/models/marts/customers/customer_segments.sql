-- One row per person and segment they are in, with why and since when. The segments are defined once,
-- in this model's YAML (meta.segments): a name, a description, a condition and a "since" expression
-- over customer_profiles columns.
{%- set segments = config.get('meta', {}).get('segments', []) %}

with

profiles as (
    select * from {{ ref('customer_profiles') }}
)

{% for segment in segments %}
select
    customer_id,
    '{{ segment.name }}' as segment_name,
    '{{ segment.reason | replace("'", "''") }}' as reason,
    cast({{ segment.since }} as timestamp) as member_since
from profiles
where {{ segment.condition }}
{% if not loop.last %}union all{% endif %}
{% else %}
select
    cast(null as varchar) as customer_id,
    cast(null as varchar) as segment_name,
    cast(null as varchar) as reason,
    cast(null as timestamp) as member_since
where false
{% endfor %}
