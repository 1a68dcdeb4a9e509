-- Products with their category.
select
    {{ surrogate_key(['product_id']) }} as product_key,
    product_id,
    {{ surrogate_key(['product_category']) }} as product_category_key,
    product_title,
    vendor,
    handle,
    product_status,
    created_at,
    published_at
from {{ ref('stg_shop__products') }}
