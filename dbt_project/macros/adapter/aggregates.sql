{#
    Within a group, the non-null value of `expr` from the row first in `order_by` (e.g. the freshest
    record's email). DuckDB's arg_min/first ... order by; elsewhere array_agg ordered.
#}
{% macro freshest_value(expr, order_by) -%}
    {{ return(adapter.dispatch('freshest_value', 'email_warehouse')(expr, order_by)) }}
{%- endmacro %}

{% macro default__freshest_value(expr, order_by) -%}
    (array_agg({{ expr }} order by {{ order_by }}) filter (where {{ expr }} is not null))[1]
{%- endmacro %}

{% macro duckdb__freshest_value(expr, order_by) -%}
    first({{ expr }} order by {{ order_by }}) filter (where {{ expr }} is not null)
{%- endmacro %}
