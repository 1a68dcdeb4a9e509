{# Fails on every non-null value of the column that does not match `pattern`. #}
{% test matches_regex(model, column_name, pattern) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} is not null
  and not {{ regex_contains(column_name, pattern) }}
{% endtest %}
