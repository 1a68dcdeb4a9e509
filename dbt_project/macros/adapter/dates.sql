{#
    Date and time functions with no cross-database macro in dbt: parsing free text with several formats,
    epoch seconds to timestamps, and shifting a zoned timestamp to a naive UTC one.
#}

{# The first of `formats` (strftime patterns) that parses `expr` as a date; null when none does. #}
{% macro try_parse_date(expr, formats) -%}
    {{ return(adapter.dispatch('try_parse_date', 'email_warehouse')(expr, formats)) }}
{%- endmacro %}

{% macro default__try_parse_date(expr, formats) -%}
    {{ exceptions.raise_compiler_error("try_parse_date: no implementation for adapter " ~ adapter.type()) }}
{%- endmacro %}

{% macro duckdb__try_parse_date(expr, formats) -%}
    cast(try_strptime({{ expr }}, [{% for f in formats %}'{{ f }}'{{ ", " if not loop.last }}{% endfor %}]) as date)
{%- endmacro %}


{# A timestamp from seconds since the Unix epoch (dlt's load ids are such numbers, as text). #}
{% macro epoch_seconds_to_timestamp(expr) -%}
    {{ return(adapter.dispatch('epoch_seconds_to_timestamp', 'email_warehouse')(expr)) }}
{%- endmacro %}

{% macro default__epoch_seconds_to_timestamp(expr) -%}
    to_timestamp({{ expr }})
{%- endmacro %}

{% macro duckdb__epoch_seconds_to_timestamp(expr) -%}
    to_timestamp(cast({{ expr }} as double))
{%- endmacro %}


{# A `timestamp with time zone` as a naive timestamp in UTC: the warehouse's one time representation. #}
{% macro to_utc_timestamp(expr) -%}
    {{ return(adapter.dispatch('to_utc_timestamp', 'email_warehouse')(expr)) }}
{%- endmacro %}

{% macro default__to_utc_timestamp(expr) -%}
    cast(({{ expr }}) at time zone 'UTC' as timestamp)
{%- endmacro %}

{#
    On DuckDB through the epoch: microseconds since 1970 in UTC are the naive UTC timestamp, with no time zone
    lookup. timezone('UTC', ...) asks ICU for every row: about 1 s per 10M values and column (five columns in
    stg_analytics__events). The infinities have no epoch and keep the ICU path.
#}
{% macro duckdb__to_utc_timestamp(expr) -%}
    case when isfinite({{ expr }}) then make_timestamp(epoch_us({{ expr }}))
        else cast(timezone('UTC', {{ expr }}) as timestamp) end
{%- endmacro %}


{# Every day from `first_day` to `last_day` (date expressions, both included), one row each, as `date_day`. #}
{% macro days_between(first_day, last_day) -%}
    {{ return(adapter.dispatch('days_between', 'email_warehouse')(first_day, last_day)) }}
{%- endmacro %}

{% macro default__days_between(first_day, last_day) -%}
    {{ exceptions.raise_compiler_error("days_between: no implementation for adapter " ~ adapter.type()) }}
{%- endmacro %}

{% macro duckdb__days_between(first_day, last_day) -%}
    select cast(unnest(generate_series(cast({{ first_day }} as date), cast({{ last_day }} as date), interval 1 day)) as date) as date_day
{%- endmacro %}

{% macro spark__days_between(first_day, last_day) -%}
    select explode(sequence(cast({{ first_day }} as date), cast({{ last_day }} as date), interval 1 day)) as date_day
{%- endmacro %}
