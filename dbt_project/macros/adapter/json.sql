{# A top-level or dotted-path field of a JSON column as text (null when absent). #}
{% macro json_field_text(expr, path) -%}
    {{ return(adapter.dispatch('json_field_text', 'email_warehouse')(expr, path)) }}
{%- endmacro %}

{% macro default__json_field_text(expr, path) -%}
    json_extract_path_text({{ expr }}{% for part in path.split('.') %}, '{{ part }}'{% endfor %})
{%- endmacro %}

{% macro duckdb__json_field_text(expr, path) -%}
    json_extract_string({{ expr }}, '$.{{ path }}')
{%- endmacro %}
