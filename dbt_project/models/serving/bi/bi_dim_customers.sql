-- marts.dim_customers with its declared personal data hashed (macros/serving/masking.sql).
{{ select_masked(ref('dim_customers')) }}
