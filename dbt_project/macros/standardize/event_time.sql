{#
    True when `expr` is a time an event can have happened at: not before var event_time_min (clock defaults such
    as 0001-01-01 or 1970-01-01), not later than `latest` (its receipt or load) plus var
    event_time_future_tolerance_minutes of clock skew. False, never null, for a null `expr`.
#}
{% macro is_plausible_event_time(expr, latest) -%}
    coalesce(
        {{ expr }} >= cast('{{ var("event_time_min") }}' as {{ dbt.type_timestamp() }})
        and {{ expr }} <= {{ dbt.dateadd('minute', var('event_time_future_tolerance_minutes'), latest) }},
        false
    )
{%- endmacro %}
