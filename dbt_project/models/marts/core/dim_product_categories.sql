-- Product categories (Shopify product types).
select
    {{ surrogate_key(['product_category']) }} as product_category_key,
    product_category as product_category_name,
    count(*) as products_count
from {{ ref('stg_shop__products') }}
group by product_category
