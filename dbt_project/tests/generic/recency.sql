{#
    Fails when the newest `column_name` is older than `interval` `datepart`s before now (or the model is
    empty): data stopped arriving.
#}
{% test recency(model, column_name, datepart, interval) %}
{{ config(meta={'max_failing_rate': none}) }}  {#- a whole-table test: dbt's rule, see get_test_sql #}
select max({{ column_name }}) as newest
from {{ model }}
having max({{ column_name }}) is null
    or max({{ column_name }}) < {{ dbt.dateadd(datepart, -1 * interval, dbt.current_timestamp()) }}
{% endtest %}
