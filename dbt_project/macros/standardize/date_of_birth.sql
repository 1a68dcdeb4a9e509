{#
    Free-text dates of birth, read by their parts rather than by a list of formats.

    The text is split into numbers and words (a time of day after the date, "1985-03-07T00:00:00", is
    dropped). A word that is a month name or abbreviation in seed month_names (CLDR, in the languages of every
    country) gives the month, and the two numbers are the day and the year, in either order ("7 March 1985",
    "March 7th, 1985", "7. März 1985", "7 de marzo de 1985", "1985 Mar 07"). Otherwise three numbers: year
    first when the first has more than two digits ("1985-03-07", "1985/3/7"), else year last, with the day
    first unless a number over 12 shows the order or the record's country writes the month first (its CLDR
    date order in seed country_codes: "03/07/1985" is 7 March in the US, 3 July in France; day first where
    the country is unknown). Eight digits alone are YYYYMMDD when they start with 19 or 20, else day and month
    in the country's order, then the year. A two-digit year is the latest such year not in the future ("7 Mar
    85": 1985, "7/3/05": 2005).

    dob_checked yields `output`, an expression over `dob_date` (the date read, null when there is none) and
    `dob_verdict`: 'valid'; 'unparseable' (no date in the text, or no such day); 'placeholder' (one of var
    dob_placeholder_dates, which forms and CRMs fill in when nobody entered a date); 'impossible' (in the future
    or older than var dob_max_age_years). Seed columns are renamed in derived tables so that the caller's
    column names can never be captured.
#}
{% macro dob_checked(expr, country_code, output) -%}
    {%- set int = api.Column.translate_type('integer') -%}
    {%- set month_of = "(select dob_months.dob_month from (select month_name as dob_month_name, month as dob_month from "
        ~ ref('month_names') ~ ") as dob_months where dob_months.dob_month_name = %s)" -%}
    {%- set number_1 = '^[^0-9]*([0-9]+)' -%}
    {%- set number_2 = '^[^0-9]*[0-9]+[^0-9]+([0-9]+)' -%}
    {%- set number_3 = '^[^0-9]*[0-9]+[^0-9]+[0-9]+[^0-9]+([0-9]+)' -%}
    {%- set number_4 = '^[^0-9]*[0-9]+[^0-9]+[0-9]+[^0-9]+[0-9]+[^0-9]+[0-9]' -%}
    {%- set word_1 = '^[^\\p{L}]*(\\p{L}+)' -%}
    {%- set word_2 = '^[^\\p{L}]*\\p{L}+[^\\p{L}]+(\\p{L}+)' -%}
    {%- set word_3 = '^[^\\p{L}]*\\p{L}+[^\\p{L}]+\\p{L}+[^\\p{L}]+(\\p{L}+)' -%}
    {%- set time_of_day = '[t ]+[0-9]{1,2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?[ ]*(z|[ap][.]?m[.]?|[+-][0-9]{2}:?[0-9]{2})?$' -%}
    {%- set year_first = "(case when dob_n2 is null then dob_n1 like '19%' or dob_n1 like '20%' else length(dob_n1) > 2 end)" -%}
    (
        select {{ output }}
        from (
            select
                dob_date,
                case
                    when dob_date is null then 'unparseable'
                    when dob_date in (
                        {%- for day in var('dob_placeholder_dates') %}cast('{{ day }}' as date){{ ", " if not loop.last }}{% endfor -%}
                    ) then 'placeholder'
                    when dob_date not between {{ oldest_possible_date_of_birth() }} and current_date then 'impossible'
                    else 'valid'
                end as dob_verdict
            from (
                {#- 5. the date, null when there is no such day (31 April) #}
                select {{ try_cast(
                    "lpad(cast(dob_year as varchar), 4, '0') || '-' || lpad(cast(dob_month as varchar), 2, '0')"
                    ~ " || '-' || lpad(cast(dob_day as varchar), 2, '0')", api.Column.translate_type('date')) }} as dob_date
                from (
                    {#- 4. day and month from the order; a two-digit year the latest not in the future #}
                    select
                        case
                            when dob_word_month is not null then dob_word_month
                            when dob_year_first then dob_first
                            when dob_first > 12 then dob_second
                            when dob_second > 12 then dob_first
                            when dob_month_first then dob_first
                            else dob_second
                        end as dob_month,
                        case
                            when dob_word_month is not null then dob_first
                            when dob_year_first then dob_second
                            when dob_first > 12 then dob_first
                            when dob_second > 12 then dob_second
                            when dob_month_first then dob_second
                            else dob_first
                        end as dob_day,
                        case
                            when length(dob_year_digits) = 4 then {{ try_cast('dob_year_digits', int) }}
                            when length(dob_year_digits) = 2 then {{ try_cast('dob_year_digits', int) }}
                                + case when {{ try_cast('dob_year_digits', int) }}
                                    <= extract(year from current_date) % 100 then 2000 else 1900 end
                        end as dob_year
                    from (
                        {#- 3. which number is the year; the other two (only the day with a month word) in written order #}
                        select
                            dob_word_month,
                            {{ year_first }} as dob_year_first,
                            coalesce(position('M' in dob_order) < position('D' in dob_order), false) as dob_month_first,
                            case
                                when dob_n4_present then null
                                when dob_word_month is not null and dob_n3 is null
                                    then case when length(dob_n1) > 2 then dob_n1 else dob_n2 end
                                when dob_n3 is not null then case when {{ year_first }} then dob_n1 else dob_n3 end
                                when length(dob_n1) = 8 then case when {{ year_first }} then substr(dob_n1, 1, 4) else substr(dob_n1, 5, 4) end
                            end as dob_year_digits,
                            {{ try_cast("case
                                when dob_word_month is not null then case when length(dob_n1) > 2 then dob_n2 else dob_n1 end
                                when dob_n3 is not null then case when " ~ year_first ~ " then dob_n2 else dob_n1 end
                                when length(dob_n1) = 8 then case when " ~ year_first ~ " then substr(dob_n1, 5, 2) else substr(dob_n1, 1, 2) end
                            end", int) }} as dob_first,
                            {{ try_cast("case
                                when dob_word_month is not null then null
                                when dob_n3 is not null then case when " ~ year_first ~ " then dob_n3 else dob_n2 end
                                when length(dob_n1) = 8 then case when " ~ year_first ~ " then substr(dob_n1, 7, 2) else substr(dob_n1, 3, 2) end
                            end", int) }} as dob_second
                        from (
                            {#- 2. the month a word names (seed month_names) #}
                            select
                                dob_order, dob_n1, dob_n2, dob_n3, dob_n4_present,
                                coalesce({{ month_of | format('dob_w1') }}, {{ month_of | format('dob_w2') }},
                                    {{ month_of | format('dob_w3') }}) as dob_word_month
                            from (
                                {#- 1. the first numbers and words of the text #}
                                select
                                    dob_order,
                                    {{ regex_extract('dob_text', number_1) }} as dob_n1,
                                    {{ regex_extract('dob_text', number_2) }} as dob_n2,
                                    {{ regex_extract('dob_text', number_3) }} as dob_n3,
                                    {{ regex_contains('dob_text', number_4) }} as dob_n4_present,
                                    {{ regex_extract('dob_text', word_1) }} as dob_w1,
                                    {{ regex_extract('dob_text', word_2) }} as dob_w2,
                                    {{ regex_extract('dob_text', word_3) }} as dob_w3
                                from (
                                    select
                                        {{ regex_replace_all('lower(' ~ fold_accents(clean_text(expr)) ~ ')', time_of_day, '') }} as dob_text,
                                        (select country_plan.country_date_order from (
                                            select country_code as country_plan_code, date_order as country_date_order
                                            from {{ ref('country_codes') }}
                                        ) as country_plan where country_plan.country_plan_code = {{ country_code }}) as dob_order
                                ) as dob_source
                                where dob_text is not null
                            ) as dob_tokens
                        ) as dob_fields
                    ) as dob_assigned
                ) as dob_parts
            ) as dob_dated
        ) as dob_check
    )
{%- endmacro %}

{# The date of birth `expr` (of a record in `country_code`) says, when it is a credible one; else null. #}
{% macro parse_date_of_birth(expr, country_code) -%}
    {{ dob_checked(expr, country_code, "case when dob_verdict = 'valid' then dob_date end") }}
{%- endmacro %}

{# Why a non-empty date of birth gave null: 'unparseable', 'placeholder' or 'impossible date of birth'. #}
{% macro date_of_birth_problem(expr, country_code) -%}
    {{ dob_checked(expr, country_code, "case when dob_verdict <> 'valid' then dob_verdict || ' date of birth' end") }}
{%- endmacro %}

{# The earliest credible date of birth today: var dob_max_age_years ago. #}
{% macro oldest_possible_date_of_birth() -%}
    cast({{ dbt.dateadd('year', -1 * var('dob_max_age_years'), 'current_date') }} as date)
{%- endmacro %}
