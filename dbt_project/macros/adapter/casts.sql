{#
    A cast that gives null instead of failing on a value of the wrong shape ("SKU-1" as a bigint). dbt's
    safe_cast is a plain CAST on DuckDB, so one such value in a feed failed the whole model.
#}
{% macro try_cast(expr, type) -%}
    {{ return(adapter.dispatch('try_cast', 'email_warehouse')(expr, type)) }}
{%- endmacro %}

{% macro default__try_cast(expr, type) -%}
    {{ dbt.safe_cast(expr, type) }}
{%- endmacro %}

{% macro duckdb__try_cast(expr, type) -%}
    try_cast({{ expr }} as {{ type }})
{%- endmacro %}

{% macro spark__try_cast(expr, type) -%}
    try_cast({{ expr }} as {{ type }})
{%- endmacro %}
