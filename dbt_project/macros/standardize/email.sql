{# Email as compared everywhere: trimmed, lower-cased, empty string as null (validity not checked). #}
{% macro clean_email(expr) -%}
    lower({{ clean_text(expr) }})
{%- endmacro %}

{#
    The one rule of a valid email, as a regex over the cleaned (trimmed, lower-cased) email: one @, a local part
    of ASCII letters, digits and ._%+- that neither starts nor ends with a dot nor holds two in a row, and a
    dotted domain with no trailing dot. Addresses with non-ASCII letters (RFC 6531) are not accepted: few email
    platforms deliver to them. Python checks that judge emails (the raw quality suites) use core/email.py's
    EMAIL_PATTERN, the same pattern; tests/core/test_email.py holds the two equal.
#}
{% macro email_pattern() -%}
    {{ return('^[a-z0-9_%+-]+(\\.[a-z0-9_%+-]+)*@[a-z0-9-]+(\\.[a-z0-9-]+)*\\.[a-z]{2,}$') }}
{%- endmacro %}

{# True when the cleaned email matches email_pattern(); false for a null or blank one. #}
{% macro is_valid_email(expr) -%}
    coalesce({{ regex_contains(clean_email(expr), email_pattern()) }}, false)
{%- endmacro %}

{# Fails on every non-null value of the column that is not a valid email (email_pattern()). #}
{% test valid_email(model, column_name) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} is not null
  and not {{ is_valid_email(column_name) }}
{% endtest %}

{# The cleaned email when valid, else null: the `email` column of every staging model. #}
{% macro normalize_email(expr) -%}
    case when {{ is_valid_email(expr) }} then {{ clean_email(expr) }} end
{%- endmacro %}

{#
    True when the cleaned email's local part (a "+tag" ignored) names a role rather than a person: info@,
    sales@, noreply@, admin@, test@ ... (seed role_email_local_parts, from the package role-based-email-addresses).
    Many people write from one such mailbox, so it is no evidence that two records are one person. False for
    a personal address, null for a null email.
#}
{% macro is_role_email(email_expression) -%}
    {%- set local_part = regex_replace_all(clean_email(email_expression), '(\\+[^@]*)?@.*$', '') -%}
    case
        when {{ clean_email(email_expression) }} is null then null
        else exists (
            {#- seed column renamed so that the caller's column names can never be captured -#}
            select 1
            from (select local_part as role_local_part from {{ ref('role_email_local_parts') }}) as role_email
            where role_email.role_local_part = {{ local_part }}
        )
    end
{%- endmacro %}

{#
    True when the cleaned email matches the deployment's test-order pattern (var test_order_email_pattern,
    setting WAREHOUSE_TEST_ORDER_EMAIL_PATTERN, a regex): the staff's test address. False when no pattern is
    configured and for a null email.
#}
{% macro is_test_order_email(email_expression) -%}
    {%- set pattern = (var('test_order_email_pattern') or '') | trim -%}
    {%- if pattern -%}
        coalesce({{ regex_contains(clean_email(email_expression), pattern | replace("'", "''")) }}, false)
    {%- else -%}
        false
    {%- endif -%}
{%- endmacro %}
