{#
    Free-text date of birth as a date, or null.

    Formats tried: ISO, slashes (month first in the US, day first elsewhere, so the record's ISO country code
    is needed), "07.03.1985", "March 7, 1985", "7 March 1985", "19850307", and two-digit years ("7 Mar 85")
    read as the last 100 years. A parsed date after today or older than var('dob_max_age_years') is
    impossible: null too. `date_of_birth_problem` says why a non-empty input gave null.
#}
{% macro parsed_date_of_birth(expr, country_code) -%}
    {%- set text = clean_text(expr) -%}
    {%- set two_digit_year = try_parse_date(text, ['%d %b %y', '%d %B %y']) -%}
    case
        {#- "7 Mar 85": a year of exactly two digits (strptime's %Y would read it as the year 85) #}
        when {{ regex_contains(text, '[A-Za-z] [0-9]{2}$') }} then
            case
                when {{ two_digit_year }} > current_date
                    then cast({{ dbt.dateadd('year', -100, two_digit_year) }} as date)
                else {{ two_digit_year }}
            end
        else coalesce(
            case when {{ country_code }} = 'US' then {{ try_parse_date(text, ['%m/%d/%Y']) }} end,
            {{ try_parse_date(text, ['%Y-%m-%d', '%d/%m/%Y', '%d.%m.%Y', '%B %d, %Y', '%b %d, %Y', '%d %B %Y', '%d %b %Y', '%Y%m%d']) }}
        )
    end
{%- endmacro %}

{% macro parse_date_of_birth(expr, country_code) -%}
    case
        when {{ parsed_date_of_birth(expr, country_code) }}
            between {{ oldest_possible_date_of_birth() }} and current_date
            then {{ parsed_date_of_birth(expr, country_code) }}
    end
{%- endmacro %}

{% macro date_of_birth_problem(expr, country_code) -%}
    case
        when {{ clean_text(expr) }} is null then null
        when {{ parsed_date_of_birth(expr, country_code) }} is null then 'unparseable date of birth'
        when {{ parse_date_of_birth(expr, country_code) }} is null then 'impossible date of birth'
    end
{%- endmacro %}

{# The earliest credible date of birth today: var dob_max_age_years ago. #}
{% macro oldest_possible_date_of_birth() -%}
    cast({{ dbt.dateadd('year', -1 * var('dob_max_age_years'), 'current_date') }} as date)
{%- endmacro %}
