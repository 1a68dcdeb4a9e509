-- marts.fct_orders with its declared personal data hashed (macros/serving/masking.sql).
{{ select_masked(ref('fct_orders')) }}
