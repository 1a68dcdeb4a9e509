{#
    Fails when the model's row count differs from `compare_model`'s by more than `max_change_ratio`
    (0.0: exactly equal). Catches fan-out from joins and rows silently lost between layers.
#}
{% test row_count_change(model, compare_model, max_change_ratio=0.0, compare_where='true') %}
{{ config(meta={'max_failing_rate': none}) }}  {#- a whole-table test: dbt's rule, see get_test_sql #}
with counts as (
    select
        (select count(*) from {{ model }}) as model_rows,
        (select count(*) from {{ compare_model }} where {{ compare_where }}) as compare_rows
)
select model_rows, compare_rows
from counts
where abs(model_rows - compare_rows) > {{ max_change_ratio }} * compare_rows
{% endtest %}
