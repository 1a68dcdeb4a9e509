{# Email as compared everywhere: trimmed, lower-cased, empty string as null (validity not checked). #}
{% macro clean_email(expr) -%}
    lower({{ clean_text(expr) }})
{%- endmacro %}

{# True when the cleaned email has one @, a plausible local part and a dotted domain. #}
{% macro is_valid_email(expr) -%}
    coalesce(
        {{ regex_contains(clean_email(expr), '^[a-z0-9._%+-]+@[a-z0-9-]+(\\.[a-z0-9-]+)*\\.[a-z]{2,}$') }}
        and {{ clean_email(expr) }} not like '%..%',
        false
    )
{%- endmacro %}

{# The cleaned email when valid, else null: the `email` column of every staging model. #}
{% macro normalize_email(expr) -%}
    case when {{ is_valid_email(expr) }} then {{ clean_email(expr) }} end
{%- endmacro %}
