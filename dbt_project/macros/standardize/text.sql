{# Free text as compared everywhere: leading/trailing whitespace of any kind (tabs too) removed, '' as null. #}
{% macro clean_text(expr) -%}
    nullif({{ regex_replace_all(expr, '^[[:space:]]+|[[:space:]]+$', '') }}, '')
{%- endmacro %}
