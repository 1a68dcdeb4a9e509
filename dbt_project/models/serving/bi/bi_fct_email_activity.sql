-- marts.fct_email_activity with its declared personal data hashed (macros/serving/masking.sql)
-- and the text declared `scrub: contacts` cleared of emails and phones (macros/serving/scrub.sql).
{{ select_scrubbed(select_masked(ref('fct_email_activity'))) }}
