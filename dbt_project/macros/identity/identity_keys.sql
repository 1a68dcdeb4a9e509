{#- The key of one source record across all systems: 'crm:123', 'shop:456', 'analytics:<anonymousId>'. -#}
{% macro identity_record_key(source_system, source_id) -%}
    {{ dbt.concat([source_system, "':'", source_id]) }}
{%- endmacro %}


{#- A new customer_id, minted from a cluster's smallest record key: the same cluster mints the same id. -#}
{% macro identity_mint_customer_id(record_key) -%}
    {{ dbt.concat(["'cus_'", dbt.hash(record_key)]) }}
{%- endmacro %}
