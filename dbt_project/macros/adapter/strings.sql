{#
    Text folding that dbt's cross-database macros do not cover; the only place that spells it.
#}

{# `expr` with accents and other combining marks removed ("España" -> "Espana"). #}
{% macro fold_accents(expr) -%}
    {{ return(adapter.dispatch('fold_accents', 'email_warehouse')(expr)) }}
{%- endmacro %}

{# Engines without an accent-folding function compare accented spellings as written. #}
{% macro default__fold_accents(expr) -%}
    {{ expr }}
{%- endmacro %}

{% macro duckdb__fold_accents(expr) -%}
    strip_accents({{ expr }})
{%- endmacro %}
