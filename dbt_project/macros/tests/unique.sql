{#
    dbt's `unique` test through repeated_values, which groups 64-bit hashes first on DuckDB: the rows returned
    are exactly dbt's. dbt searches the root project first for its own dispatched macros.
#}
{% macro duckdb__test_unique(model, column_name) %}

select repeated_value as unique_field, n_records
from ({{ repeated_values(model, column_name) }}) as repeated

{% endmacro %}
