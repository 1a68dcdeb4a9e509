-- marts.dim_countries with its declared personal data hashed (macros/serving/masking.sql).
{{ select_masked(ref('dim_countries')) }}
