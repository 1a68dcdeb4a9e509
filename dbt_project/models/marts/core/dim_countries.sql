-- Every ISO 3166-1 country (seed country_codes) with its international calling code (seed phone_country_codes).
select
    {{ surrogate_key(['countries.country_code']) }} as country_key,
    countries.country_code,
    countries.iso3_code,
    countries.country_name,
    phone_plans.dial_code,
    countries.currency_code
from {{ ref('country_codes') }} as countries
left join {{ ref('phone_country_codes') }} as phone_plans on countries.country_code = phone_plans.country_code
