{#
    Schemas are exactly what dbt_project.yml names (staging, intermediate, marts, seeds), not dbt's default
    "<target schema>_<custom>", so that BI tools, the serving copy and the identity map have fixed names.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
