{#-
    Normalizations that make two spellings of the same value compare equal. Regular expressions go through
    the project's regex_* macros; accent stripping is the one adapter-specific function, hence dispatched.
-#}

{#- `column` with accents removed: 'José' -> 'Jose'. -#}
{% macro identity_strip_accents(column) -%}
    {{ return(adapter.dispatch('identity_strip_accents', 'email_warehouse')(column)) }}
{%- endmacro %}

{% macro duckdb__identity_strip_accents(column) -%}
    strip_accents({{ column }})
{%- endmacro %}

{% macro default__identity_strip_accents(column) -%}
    {{ exceptions.raise_compiler_error("identity_strip_accents has no implementation for " ~ adapter.type()) }}
{%- endmacro %}


{#- A name reduced to lower-case ASCII letters: 'José-Luis ' -> 'joseluis'; null when nothing is left. -#}
{% macro identity_normalize_name(column) -%}
    nullif({{ regex_replace_all('lower(' ~ identity_strip_accents(column) ~ ')', '[^a-z]', '') }}, '')
{%- endmacro %}


{#- An address line or postal code compared on its letters and digits only: 'SW1A 1AA' = 'sw1a1aa'. -#}
{% macro identity_normalize_alphanumeric(column) -%}
    nullif({{ regex_replace_all('lower(' ~ identity_strip_accents(column) ~ ')', '[^a-z0-9]', '') }}, '')
{%- endmacro %}


{#-
    The mailbox an address delivers to: '+tag' sub-addresses dropped, and dots dropped for Gmail, which
    ignores them. Expects staging's trimmed, lower-cased, validated email (null stays null).
-#}
{% macro identity_normalize_email(column) -%}
    {%- set local_part = regex_replace_all(dbt.split_part(column, "'@'", 1), '[+].*$', '') -%}
    {%- set domain = dbt.split_part(column, "'@'", 2) -%}
    case
        when {{ domain }} in ('gmail.com', 'googlemail.com')
            then {{ dbt.concat([dbt.replace(local_part, "'.'", "''"), "'@gmail.com'"]) }}
        else {{ dbt.concat([local_part, "'@'", domain]) }}
    end
{%- endmacro %}


{#-
    True when an E.164 phone is no evidence of a person: fewer than var('identity_min_phone_digits') digits,
    or a national part of one repeated digit ('+440000000000', '+15555555555' after its country code: its
    last seven digits all alike). False for a null phone.
-#}
{% macro identity_is_junk_phone(phone) -%}
    {%- set digits = regex_replace_all(phone, '[^0-9]', '') -%}
    {%- set tail = dbt.right(digits, 7) -%}
    coalesce(
        {{ dbt.length(digits) }} < {{ var('identity_min_phone_digits') }}
        or {{ dbt.replace(tail, dbt.right(tail, 1), "''") }} = '',
        false
    )
{%- endmacro %}
