{# An amount in the reporting currency (var reporting_currency) given the rate from int_fx_rates_ranged. #}
{% macro to_reporting_currency(amount, rate_to_reporting) -%}
    cast(({{ amount }}) * {{ rate_to_reporting }} as decimal(18, 2))
{%- endmacro %}

{# Join condition picking the FX rate valid at `at` for `currency_code` (an as-of join on ranges). #}
{% macro fx_rate_valid_at(fx_alias, currency_code, at) -%}
    {{ fx_alias }}.currency_code = {{ currency_code }}
    and {{ at }} >= {{ fx_alias }}.valid_from
    and {{ at }} < {{ fx_alias }}.valid_to
{%- endmacro %}
