{#
    Join condition from a source record to its row in customer_identity_map (alias `map_alias`):
    source_id is text there, whatever the source's id type.
#}
{% macro is_identity_of(map_alias, source_system, source_id) -%}
    {{ map_alias }}.source_system = '{{ source_system }}'
    and {{ map_alias }}.source_id = cast({{ source_id }} as {{ dbt.type_string() }})
{%- endmacro %}

{# The reference time of "recency" and "days since": var as_of (tests, backfills) or now, as UTC timestamp. #}
{% macro as_of_timestamp() -%}
    {%- if var('as_of', none) -%}
        cast('{{ var("as_of") }}' as timestamp)
    {%- else -%}
        cast({{ dbt.current_timestamp() }} as timestamp)
    {%- endif -%}
{%- endmacro %}
