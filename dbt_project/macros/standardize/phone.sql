{#
    Phone numbers to E.164 (+<country calling code><national number>), with the telephone data of seed
    phone_country_codes (from libphonenumber's metadata).

    International input ("+1 415 555 0134", "0049 30 1234567") keeps its calling code; national input
    ("(415) 555-0134", "030 1234567") gets the calling code of the record's ISO country, its national
    (trunk) prefix dropped. An extension ("x12", "ext. 12", ";ext=12", "#12") is not part of the number:
    E.164 has no place for it, so it is dropped (phone_problem says so).

    The result is kept only when it is a phone number: a known calling code, then a national number neither
    shorter than the shortest that calling code's numbering plan allows nor of one repeated digit
    ("0000000000", "+1 111 111 1111", the placeholders forms fill in), 15 digits at most.
#}

{# 'valid', 'junk' (too short, one repeated digit) or 'invalid' (no calling code known, too long) for a phone. #}
{% macro phone_verdict(phone, country_code) -%}
    {{ phone_checked(phone, country_code, 'phone_check.phone_verdict') }}
{%- endmacro %}

{% macro to_e164(phone, country_code) -%}
    {{ phone_checked(phone, country_code,
        "case when phone_check.phone_verdict = 'valid' then phone_check.phone_candidate end") }}
{%- endmacro %}

{% macro phone_checked(phone, country_code, output) -%}
    {#- Seed columns renamed in derived tables so that the caller's column names can never be captured. -#}
    {%- set plans = "(select country_code as plan_country, dial_code as plan_dial_code, national_prefix as "
        ~ "plan_national_prefix, min_national_digits as plan_min_digits from " ~ ref('phone_country_codes') ~ ")" -%}
    {%- set home = "(select home.%s from " ~ plans ~ " as home where home.plan_country = " ~ country_code ~ ")" -%}
    {%- set national = "substr(phone_input.phone_candidate, " ~ dbt.length('calling.plan_dial_code') ~ " + 2)" -%}
    (
        select {{ output }}
        from (
            select
                phone_input.phone_candidate,
                case
                    when phone_input.phone_digits = '' then 'invalid'
                    {#- "0000000000": all one digit as written, before a calling code is read off it #}
                    when replace(phone_input.phone_digits, substr(phone_input.phone_digits, 1, 1), '') = '' then 'junk'
                    when calling.plan_dial_code is null
                        or not {{ regex_contains('phone_input.phone_candidate', '^\\+[0-9]{2,15}$') }} then 'invalid'
                    when {{ dbt.length(national) }} < calling.plan_min_digits
                        or replace({{ national }}, substr({{ national }}, 1, 1), '') = '' then 'junk'
                    else 'valid'
                end as phone_verdict
            from (
                select phone_text.phone_digits, case
                    when phone_text.phone_lowered like '+%' then '+' || phone_text.phone_digits
                    when phone_text.phone_digits like '00%' then '+' || substr(phone_text.phone_digits, 3)
                    when phone_text.home_national_prefix <> ''
                        and phone_text.phone_digits like phone_text.home_national_prefix || '%'
                        then '+' || phone_text.home_dial_code
                            || substr(phone_text.phone_digits, {{ dbt.length('phone_text.home_national_prefix') }} + 1)
                    else '+' || phone_text.home_dial_code || phone_text.phone_digits
                end as phone_candidate
                from (
                    {#- "+44 (0)20 ...": the trunk prefix in brackets is not dialled internationally #}
                    select
                        phone_lowered,
                        {{ regex_replace_all("replace(phone_lowered, '(0)', '')", '[^0-9]', '') }} as phone_digits,
                        {{ home | format('plan_dial_code') }} as home_dial_code,
                        {{ home | format('plan_national_prefix') }} as home_national_prefix
                    from (
                        select {{ regex_replace_all('lower(' ~ clean_text(phone) ~ ')', phone_extension_pattern(), '') }}
                            as phone_lowered
                    ) as phone_raw_text
                ) as phone_text
                where phone_text.phone_lowered is not null
            ) as phone_input
            {# calling codes are prefix-free (ITU-T E.164): at most one matches #}
            left join (
                select plan_dial_code, min(plan_min_digits) as plan_min_digits
                from {{ plans }} as calling_plan
                group by plan_dial_code
            ) as calling on phone_input.phone_candidate like '+' || calling.plan_dial_code || '%'
        ) as phone_check
    )
{%- endmacro %}


{# An extension at the end of a lower-cased phone number, in the ways people write one. #}
{% macro phone_extension_pattern() -%}
    \s*(;ext=|extension|ext\.?|x|#)\s*[0-9]+\s*$
{%- endmacro %}

{#
    Why the phone `raw` (of a record in `country_code`) did not become an E.164 number as it was: 'junk
    <label>' (too short for its numbering plan, or one repeated digit), 'invalid <label>' (not a phone number),
    '<label> extension dropped'.
#}
{% macro phone_problem(raw, country_code, label='phone') -%}
    case
        when {{ clean_text(raw) }} is null then null
        else coalesce(
            case coalesce({{ phone_verdict(raw, country_code) }}, 'invalid')
                when 'junk' then 'junk {{ label }}'
                when 'invalid' then 'invalid {{ label }}'
            end,
            case when {{ regex_contains('lower(' ~ clean_text(raw) ~ ')', phone_extension_pattern()) }}
                then '{{ label }} extension dropped' end
        )
    end
{%- endmacro %}
