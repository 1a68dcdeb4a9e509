-- marts.dim_products with its declared personal data hashed (macros/serving/masking.sql).
{{ select_masked(ref('dim_products')) }}
