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

{#
    How good the rate joined from int_fx_rates_ranged (columns rate_to_reporting, rate_date,
    is_before_coverage under `fx_alias`, null when nothing joined) is for a transaction at `at`:
    'exact' (published that day; always for the reporting currency itself), 'nearest_earlier' (a weekend,
    holiday or a day after the newest rate: the newest rate before it), 'before_coverage' (a day before
    the currency's first rate: that first rate), 'unknown_currency' (no ECB rate for the currency: no
    conversion), 'unknown_date' (no transaction time: no conversion).
#}
{% macro fx_rate_status(fx_alias, at) -%}
    case
        when {{ at }} is null then 'unknown_date'
        when {{ fx_alias }}.rate_to_reporting is null then 'unknown_currency'
        when {{ fx_alias }}.is_before_coverage then 'before_coverage'
        when {{ fx_alias }}.rate_date is null or {{ fx_alias }}.rate_date = cast({{ at }} as date) then 'exact'
        else 'nearest_earlier'
    end
{%- endmacro %}
