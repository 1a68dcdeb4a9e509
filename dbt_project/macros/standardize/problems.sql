{#
    The `invalid_reason` column: every problem found in a row, "; "-separated, null for a clean row.
    `problems` is a list of SQL expressions each yielding a reason or null.
#}
{% macro list_problems(problems) -%}
    nullif(concat_ws('; ', {{ problems | join(', ') }}), '')
{%- endmacro %}

{# The reason when `raw` had a value that `cleaned` could not keep, else null. #}
{% macro problem_when_lost(raw, cleaned, reason) -%}
    case when {{ clean_text('cast(' ~ raw ~ ' as varchar)') }} is not null and {{ cleaned }} is null then '{{ reason }}' end
{%- endmacro %}
