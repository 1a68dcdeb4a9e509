-- marts.dim_locations with its declared personal data hashed (macros/serving/masking.sql).
{{ select_masked(ref('dim_locations')) }}
