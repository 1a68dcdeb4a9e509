-- marts.fct_order_lines with its declared personal data hashed (macros/serving/masking.sql).
{{ select_masked(ref('fct_order_lines')) }}
