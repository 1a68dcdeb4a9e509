-- marts.customer_identity_map with its declared personal data hashed (macros/serving/masking.sql).
{{ select_masked(ref('customer_identity_map')) }}
