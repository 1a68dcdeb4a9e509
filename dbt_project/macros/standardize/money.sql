{# Money as the warehouse stores it: exact decimal with cents (sources deliver decimal or text). #}
{% macro to_money(expr) -%}
    {{ dbt.safe_cast(expr, "decimal(18, 2)") }}
{%- endmacro %}

{# ISO-4217 code, upper-cased; null when not three letters. #}
{% macro to_currency_code(expr) -%}
    case when {{ regex_contains("upper(trim(" ~ expr ~ "))", '^[A-Z]{3}$') }} then upper(trim({{ expr }})) end
{%- endmacro %}
