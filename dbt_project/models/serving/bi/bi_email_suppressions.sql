-- marts.email_suppressions with its declared personal data hashed (macros/serving/masking.sql)
-- and the text declared `scrub: contacts` cleared of emails and phones (macros/serving/scrub.sql).
{{ select_scrubbed(select_masked(ref('email_suppressions'))) }}
