{#
    dbt's `unique` test on DuckDB, grouping 64-bit hashes first: the plain `group by <column>` holds every
    distinct value in a hash table (9.6M 36-character message ids: most of a 2GB build's budget, beside a
    model on the other dbt thread), the hashes take an eighth of that. Values whose hash repeats are then
    grouped by the values themselves, so a hash collision is never reported as a duplicate: the rows returned
    are exactly dbt's. dbt searches the root project first for its own dispatched macros.
#}
{% macro duckdb__test_unique(model, column_name) %}

with repeated_hashes as (
    select hash({{ column_name }}) as value_hash
    from {{ model }}
    where {{ column_name }} is not null
    group by 1
    having count(*) > 1
)

select
    {{ column_name }} as unique_field,
    count(*) as n_records
from {{ model }}
where {{ column_name }} is not null
    and hash({{ column_name }}) in (select value_hash from repeated_hashes)
group by {{ column_name }}
having count(*) > 1

{% endmacro %}
