{#-
    Fails with one row per value of `column_name` that comes with more than one value of `other_column`:
    `column_name` must determine `other_column` (a customer_id belongs to one cluster, a cluster has one id).
-#}
{% test identity_determines(model, column_name, other_column) %}

select {{ column_name }}, count(distinct {{ other_column }}) as other_values
from {{ model }}
group by {{ column_name }}
having count(distinct {{ other_column }}) > 1

{% endtest %}
