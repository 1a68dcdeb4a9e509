-- ECB euro reference rates (seed fx_rates_ecb_daily: units of each currency per euro) as validity ranges
-- [valid_from, valid_to) in units of var reporting_currency per unit of each currency, for a portable as-of
-- join (macro fx_rate_valid_at). Cross rates are taken on every ECB publication day, each currency at its
-- newest rate on or before that day. Every date finds a rate: a currency's first rate also applies before it
-- (is_before_coverage), its newest until 9999-12-31; macro fx_rate_status says which case a date is.
{%- set reporting_currency = var('reporting_currency') %}

with

ecb as (
    select
        rate_date,
        currency_code,
        units_per_eur
    from {{ ref('fx_rates_ecb_daily') }}
),

published as (
    select
        rate_date,
        currency_code,
        units_per_eur
    from ecb
    union all
    -- the euro is the ECB's base: one per euro on every publication day
    select distinct
        rate_date,
        'EUR' as currency_code,
        1 as units_per_eur
    from ecb
),

publication_days as (
    select distinct rate_date as rate_day from published
),

first_rates as (
    select
        currency_code,
        units_per_eur,
        rate_date
    from (
        select
            *,
            row_number() over (partition by currency_code order by rate_date) as rate_rank
        from published
    ) as ranked
    where rate_rank = 1
),

grid as (
    -- every currency on every publication day; rate_run numbers the days that share the currency's newest rate
    select
        first_rates.currency_code,
        publication_days.rate_day,
        published.units_per_eur,
        published.rate_date,
        count(published.rate_date) over (
            partition by first_rates.currency_code order by publication_days.rate_day rows unbounded preceding
        ) as rate_run
    from first_rates
    cross join publication_days
    left join published
        on first_rates.currency_code = published.currency_code and publication_days.rate_day = published.rate_date
),

as_of as (
    -- a day without a rate of the currency takes its newest before; a day before its first rate, the first
    select
        grid.currency_code,
        grid.rate_day,
        coalesce(
            max(grid.units_per_eur) over (partition by grid.currency_code, grid.rate_run), first_rates.units_per_eur
        ) as units_per_eur,
        coalesce(
            max(grid.rate_date) over (partition by grid.currency_code, grid.rate_run), first_rates.rate_date
        ) as rate_date
    from grid
    inner join first_rates on grid.currency_code = first_rates.currency_code
),

crossed as (
    select
        as_of.currency_code,
        as_of.rate_day,
        cast(reporting.units_per_eur / as_of.units_per_eur as decimal(18, 10)) as rate_to_reporting,
        as_of.rate_date > as_of.rate_day or reporting.rate_date > reporting.rate_day as is_before_coverage,
        -- of the two rates' publication dates, the one further from the day
        case
            when as_of.rate_date > as_of.rate_day or reporting.rate_date > reporting.rate_day
                then greatest(as_of.rate_date, reporting.rate_date)
            else least(as_of.rate_date, reporting.rate_date)
        end as rate_date
    from as_of
    inner join as_of as reporting
        on as_of.rate_day = reporting.rate_day and reporting.currency_code = '{{ reporting_currency }}'
    where as_of.currency_code <> '{{ reporting_currency }}'
)

select
    currency_code,
    rate_day as valid_from,
    coalesce(
        lead(rate_day) over (partition by currency_code order by rate_day), cast('9999-12-31' as date)
    ) as valid_to,
    rate_to_reporting,
    rate_date,
    is_before_coverage
from crossed

union all

-- before the ECB's first publication day: that day's rate, for every currency
select
    currency_code,
    cast('0001-01-01' as date) as valid_from,
    rate_day as valid_to,
    rate_to_reporting,
    rate_date,
    true as is_before_coverage
from crossed
where crossed.rate_day = (select min(publication_days.rate_day) from publication_days)

union all

-- the reporting currency itself: 1 on every date, no rate needed
select
    '{{ reporting_currency }}' as currency_code,
    cast('0001-01-01' as date) as valid_from,
    cast('9999-12-31' as date) as valid_to,
    cast(1 as decimal(18, 10)) as rate_to_reporting,
    cast(null as date) as rate_date,
    false as is_before_coverage
