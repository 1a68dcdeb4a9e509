{#
    A phone number in E.164 (+<country calling code><national number>) or null.

    Accepts international input ("+1 415 555 0134", "0049 30 1234567") and national input using the
    record's ISO country code ("(415) 555-0134", "030 1234567": the trunk prefix from the country_codes
    seed is dropped). An extension ("x12", "ext. 12", ";ext=12", "#12") is not part of the number: E.164 has
    no place for it, so it is dropped (phone_problem says so). Results with fewer than 8 or more than 15
    digits are not phone numbers: null.
#}
{% macro to_e164(phone, country_code) -%}
    {%- set trimmed = regex_replace_all('lower(' ~ clean_text(phone) ~ ')', phone_extension_pattern(), '') -%}
    {#- "+44 (0)20 ..." writes the trunk prefix in brackets: it is not dialled internationally. -#}
    {%- set digits = regex_replace_all("replace(" ~ trimmed ~ ", '(0)', '')", '[^0-9]', '') -%}
    {#- Seed columns renamed in a derived table so that the caller's column names can never be captured. -#}
    {%- set lookup = "(select cc.%s from (select country_code as e164_country, dial_code as e164_dial_code, "
        ~ "trunk_prefix as e164_trunk_prefix from " ~ ref('country_codes') ~ ") as cc where cc.e164_country = "
        ~ country_code ~ ")" -%}
    {%- set dial_code = lookup | format('e164_dial_code') -%}
    {%- set trunk_prefix = lookup | format('e164_trunk_prefix') -%}
    (
        select case when {{ regex_contains('e164_candidate', '^\\+[1-9][0-9]{7,14}$') }} then e164_candidate end
        from (
            select case
                when {{ trimmed }} like '+%' then '+' || {{ digits }}
                when {{ digits }} like '00%' then '+' || substr({{ digits }}, 3)
                when {{ trunk_prefix }} <> '' and {{ digits }} like {{ trunk_prefix }} || '%'
                    then '+' || {{ dial_code }} || substr({{ digits }}, {{ dbt.length(trunk_prefix) }} + 1)
                else '+' || {{ dial_code }} || {{ digits }}
            end as e164_candidate
        ) as e164
    )
{%- endmacro %}


{# An extension at the end of a lower-cased phone number, in the ways people write one. #}
{% macro phone_extension_pattern() -%}
    \s*(;ext=|extension|ext\.?|x|#)\s*[0-9]+\s*$
{%- endmacro %}

{# Why `raw` did not become the E.164 number `e164` as it was: 'invalid <label>', '<label> extension dropped'. #}
{% macro phone_problem(raw, e164, label='phone') -%}
    case
        when {{ clean_text(raw) }} is not null and {{ e164 }} is null then 'invalid {{ label }}'
        when {{ regex_contains('lower(' ~ clean_text(raw) ~ ')', phone_extension_pattern()) }}
            then '{{ label }} extension dropped'
    end
{%- endmacro %}
