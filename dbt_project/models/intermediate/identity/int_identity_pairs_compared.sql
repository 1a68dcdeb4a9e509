-- Every blocked pair with one comparison level per field (macros/identity/identity_comparisons.sql): the
-- input of the match model and of its training (macro identity_compare_pairs).

{{ identity_compare_pairs(ref('int_identity_pairs_blocked')) }}
