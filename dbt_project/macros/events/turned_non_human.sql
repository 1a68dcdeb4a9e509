{#
    SQL of `column` (message_id, anonymous_id) of the events int_events_bot_flagged judges non-human, those
    (re)judged after `since` (a run stamp) when given: what the incremental event models downstream delete
    before they replace their batch's keys, because a burst can turn an id's earlier human events into bot traffic.
#}
{% macro events_turned_non_human(column, since=none) -%}
    select {{ column }} from {{ ref('int_events_bot_flagged') }}
    where non_human_reason is not null
    {%- if since is not none %} and judged_at > {{ since }}{% endif %}
{%- endmacro %}
