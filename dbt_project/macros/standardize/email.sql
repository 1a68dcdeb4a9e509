{# Email as compared everywhere: trimmed, lower-cased, empty string as null (validity not checked). #}
{% macro clean_email(expr) -%}
    lower({{ clean_text(expr) }})
{%- endmacro %}

{#
    True when the cleaned email has one @, a local part of ASCII letters, digits and ._%+- that neither starts
    nor ends with a dot nor holds two in a row, and a dotted domain with no trailing dot. Addresses with
    non-ASCII letters (RFC 6531) are not accepted: few email platforms deliver to them.
#}
{% macro is_valid_email(expr) -%}
    coalesce(
        {{ regex_contains(clean_email(expr), '^[a-z0-9_%+-]+(\\.[a-z0-9_%+-]+)*@[a-z0-9-]+(\\.[a-z0-9-]+)*\\.[a-z]{2,}$') }},
        false
    )
{%- endmacro %}

{# The cleaned email when valid, else null: the `email` column of every staging model. #}
{% macro normalize_email(expr) -%}
    case when {{ is_valid_email(expr) }} then {{ clean_email(expr) }} end
{%- endmacro %}
