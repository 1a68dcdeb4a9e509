{#
    Generic tests of the serving models (models/serving/): what leaves the warehouse is masked, complete and
    reachable. They live beside the masking macros they check.
#}

{#
    Fails on every row of a `bi` model that shows an identifier in clear: a column declared personal data
    (meta.pii) and masked holding anything but a SHA-256 hex digest, or an undeclared text column holding a valid
    email (an identifier nobody declared). A column declared `masked: false` is in clear by design.
#}
{% test no_clear_identifiers(model) %}
{%- set declared = [] -%}
{%- set problems = [] -%}
{%- if execute -%}
{%- set node = graph.nodes.values() | selectattr('resource_type', 'equalto', 'model')
    | selectattr('schema', 'equalto', model.schema) | selectattr('alias', 'equalto', model.identifier) | first -%}
{%- for column in node.columns.values() if column_pii_kind(column) -%}
    {%- do declared.append(column.name | lower) -%}
{%- endfor -%}
{%- for column in node.columns.values() if column_masked_kind(column) -%}
    {%- set name = adapter.quote(column.name) -%}
    {%- do problems.append(
        "case when " ~ name ~ " is not null and not regexp_full_match(cast(" ~ name ~ " as varchar), '[0-9a-f]{64}')"
        ~ " then 'declared " ~ column.name ~ " is not a hash' end") -%}
{%- endfor -%}
{%- for column in adapter.get_columns_in_relation(model) if column.is_string() and column.name | lower not in declared -%}
    {%- set name = adapter.quote(column.name) -%}
    {%- do problems.append(
        "case when " ~ is_valid_email(name) ~ " then 'undeclared " ~ column.name ~ " holds an email' end") -%}
{%- endfor -%}
{%- endif %}
{{ failing_problems(model, problems) }}
{% endtest %}

{# Fails when `model` and `compare_model` hold a different number of rows (`bi` masks, never filters). #}
{% test row_count_equals(model, compare_model) %}
select counted.model_rows, compared.compare_model_rows
from (select count(*) as model_rows from {{ model }}) as counted
cross join (select count(*) as compare_model_rows from {{ compare_model }}) as compared
where counted.model_rows <> compared.compare_model_rows
{% endtest %}

{#
    Fails on every row of an activation model that the email platform may not mail: without email consent, or
    with an email the project's one email rule (is_valid_email) rejects.
#}
{% test only_consented_valid_emails(model, consent_column='email_consent', email_column='email') %}
select *
from {{ model }}
where not (coalesce({{ consent_column }}, false) and {{ is_valid_email(email_column) }})
{% endtest %}

{#
    The rows of a generic test built from per-row `problems` (SQL expressions: a text naming the problem, or
    null): one row per problem with how many rows of `model` have it.
#}
{% macro failing_problems(model, problems) -%}
select problem, count(*) as rows_failing
from (
    select unnest([{{ problems | join(', ') if problems else 'null' }}]) as problem
    from {{ model }}
) as checked
where problem is not null
group by problem
{%- endmacro %}
