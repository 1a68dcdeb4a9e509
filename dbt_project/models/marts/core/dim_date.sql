-- One row per calendar day: at least vars date_spine_start .. date_spine_end, widened to whole years around
-- every day an order or event carries, so that no real fact (Shopify's own order from 2008, an event of next
-- year) falls outside the calendar and fails a relationship. Events with implausible timestamps never get here:
-- staging falls back to their receipt time and flags them.
with

fact_days as (
    select cast(ordered_at as date) as fact_day from {{ ref('stg_shop__orders') }}
    union all
    select cast(occurred_at as date) from {{ ref('stg_analytics__events') }}
),

bounds as (
    select
        least(cast('{{ var("date_spine_start") }}' as date), min({{ dbt.date_trunc('year', 'fact_day') }}))
            as first_day,
        greatest(
            cast('{{ var("date_spine_end") }}' as date),
            max({{ dbt.dateadd('day', -1, dbt.dateadd('year', 1, dbt.date_trunc('year', 'fact_day'))) }})
        ) as last_day
    from fact_days
),

days as (
    {{ days_between('(select first_day from bounds)', '(select last_day from bounds)') }}
)

select
    cast(date_day as date) as date_day,
    cast({{ dbt.date_trunc('week', 'date_day') }} as date) as week_start,
    cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start,
    cast({{ dbt.date_trunc('quarter', 'date_day') }} as date) as quarter_start,
    cast(extract(year from date_day) as integer) as year_number,
    cast(extract(month from date_day) as integer) as month_number,
    cast(extract(day from date_day) as integer) as day_of_month,
    cast(extract(isodow from date_day) as integer) as iso_day_of_week,
    extract(isodow from date_day) in (6, 7) as is_weekend
from days
