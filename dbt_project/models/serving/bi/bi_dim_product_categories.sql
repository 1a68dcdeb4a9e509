-- marts.dim_product_categories with its declared personal data hashed (macros/serving/masking.sql).
{{ select_masked(ref('dim_product_categories')) }}
