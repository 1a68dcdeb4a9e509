-- Places customers live and orders ship to: one row per country, region, city and postal code.
with

places as (
    select
        country_code,
        region,
        city,
        postal_code
    from {{ ref('int_customers_merged') }}
    union
    select
        shipping_country_code,
        shipping_province,
        shipping_city,
        shipping_postal_code
    from {{ ref('stg_shop__orders') }}
)

select
    {{ surrogate_key(['places.country_code', 'places.region', 'places.city', 'places.postal_code']) }} as location_key,
    countries.country_key,
    places.country_code,
    places.region,
    places.city,
    places.postal_code
from places
left join {{ ref('dim_countries') }} as countries on places.country_code = countries.country_code
