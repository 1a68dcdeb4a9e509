{#
    The values of `column_name` that occur more than once in `relation` (a relation, or a subquery with its
    alias), with how often: `repeated_value`, `n_records`. Nulls are not values.

    On DuckDB the 64-bit hashes are grouped first: a plain `group by <column>` holds every distinct value in a
    hash table (9.6M 36-character message ids: most of a 2GB build's budget beside a model on the other dbt
    thread, and 3 of stg_analytics__events' 32 s), the hashes take an eighth of that. Only the values whose hash
    repeats are grouped by the values themselves, so a hash collision is never reported as a repeat.
#}
{% macro repeated_values(relation, column_name) -%}
    {{ return(adapter.dispatch('repeated_values', 'email_warehouse')(relation, column_name)) }}
{%- endmacro %}

{% macro default__repeated_values(relation, column_name) %}
select {{ column_name }} as repeated_value, count(*) as n_records
from {{ relation }}
where {{ column_name }} is not null
group by {{ column_name }}
having count(*) > 1
{% endmacro %}

{% macro duckdb__repeated_values(relation, column_name) %}
select {{ column_name }} as repeated_value, count(*) as n_records
from {{ relation }}
where {{ column_name }} is not null
    and hash({{ column_name }}) in (
        select hash({{ column_name }})
        from {{ relation }}
        where {{ column_name }} is not null
        group by 1
        having count(*) > 1
    )
group by {{ column_name }}
having count(*) > 1
{% endmacro %}
