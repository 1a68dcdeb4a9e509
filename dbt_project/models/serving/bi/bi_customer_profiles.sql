-- marts.customer_profiles with its declared personal data hashed (macros/serving/masking.sql).
{{ select_masked(ref('customer_profiles')) }}
