-- Countries the business sells to (seed country_codes).
select
    {{ surrogate_key(['country_code']) }} as country_key,
    country_code,
    iso3_code,
    country_name,
    region,
    dial_code,
    currency_code
from {{ ref('country_codes') }}
