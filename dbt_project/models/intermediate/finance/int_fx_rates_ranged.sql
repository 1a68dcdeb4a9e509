-- Monthly FX rates as validity ranges, expressed per unit of the reporting currency, so that any
-- transaction converts with a portable as-of join: valid_from <= at < valid_to.
with

rates as (
    select * from {{ ref('fx_rates_monthly') }}
),

reporting as (
    select rate_month, usd_per_unit as reporting_usd_per_unit
    from rates
    where currency_code = '{{ var("reporting_currency") }}'
)

select
    rates.currency_code,
    rates.rate_month as valid_from,
    coalesce(
        lead(rates.rate_month) over (partition by rates.currency_code order by rates.rate_month),
        cast('9999-12-31' as date)
    ) as valid_to,
    cast(rates.usd_per_unit / reporting.reporting_usd_per_unit as decimal(18, 8)) as rate_to_reporting
from rates
inner join reporting on rates.rate_month = reporting.rate_month
