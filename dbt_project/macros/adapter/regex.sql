{#
    Regular expressions are not covered by dbt's cross-database macros; these are the only places that spell
    them. Patterns are POSIX-style, understood by DuckDB (RE2) and Postgres alike.
#}

{# True when `expr` contains a match of `pattern`. #}
{% macro regex_contains(expr, pattern) -%}
    {{ return(adapter.dispatch('regex_contains', 'email_warehouse')(expr, pattern)) }}
{%- endmacro %}

{% macro default__regex_contains(expr, pattern) -%}
    ({{ expr }} ~ '{{ pattern }}')
{%- endmacro %}

{% macro duckdb__regex_contains(expr, pattern) -%}
    regexp_matches({{ expr }}, '{{ pattern }}')
{%- endmacro %}


{# `expr` with every match of `pattern` replaced by `replacement`. #}
{% macro regex_replace_all(expr, pattern, replacement) -%}
    {{ return(adapter.dispatch('regex_replace_all', 'email_warehouse')(expr, pattern, replacement)) }}
{%- endmacro %}

{% macro default__regex_replace_all(expr, pattern, replacement) -%}
    regexp_replace({{ expr }}, '{{ pattern }}', '{{ replacement }}', 'g')
{%- endmacro %}

{% macro duckdb__regex_replace_all(expr, pattern, replacement) -%}
    regexp_replace({{ expr }}, '{{ pattern }}', '{{ replacement }}', 'g')
{%- endmacro %}


{# True when `expr` contains a match of the pattern that the SQL expression `pattern_expr` yields (e.g. a column). #}
{% macro regex_contains_expr(expr, pattern_expr) -%}
    {{ return(adapter.dispatch('regex_contains_expr', 'email_warehouse')(expr, pattern_expr)) }}
{%- endmacro %}

{% macro default__regex_contains_expr(expr, pattern_expr) -%}
    ({{ expr }} ~ {{ pattern_expr }})
{%- endmacro %}

{% macro duckdb__regex_contains_expr(expr, pattern_expr) -%}
    regexp_matches({{ expr }}, {{ pattern_expr }})
{%- endmacro %}


{# The text `group` of the first match of `pattern` in `expr` captured; null when there is no match. #}
{% macro regex_extract(expr, pattern, group=1) -%}
    {{ return(adapter.dispatch('regex_extract', 'email_warehouse')(expr, pattern, group)) }}
{%- endmacro %}

{% macro default__regex_extract(expr, pattern, group) -%}
    nullif(regexp_extract({{ expr }}, '{{ pattern }}', {{ group }}), '')
{%- endmacro %}
