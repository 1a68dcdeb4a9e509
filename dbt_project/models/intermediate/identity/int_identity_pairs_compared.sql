-- Every blocked pair with one comparison level per field (macros/identity/identity_comparisons.sql): the
-- input of the match model and of its training (macro identity_compare_pairs). Incremental: a run compares
-- only the pairs of the records int_identity_records_touched marks must_rescore (the pre-hook deletes their
-- stored pairs first); a level depends on the two records alone, so every other pair stays as it was.

{{ config(
    materialized='incremental',
    unique_key=['left_record_key', 'right_record_key'],
    on_schema_change='fail',
    pre_hook="{{ identity_delete_rescored_pairs() }}",
) }}
-- depends_on: {{ ref('int_identity_records_touched') }}

{%- if is_incremental() %}
{%- set rescored = "(select record_key from " ~ ref('int_identity_records_touched') ~ " where must_rescore)" %}
{%- set pairs %}
(
    select * from {{ ref('int_identity_pairs_blocked') }}
    where left_record_key in {{ rescored }} or right_record_key in {{ rescored }}
) as rescored_pairs
{%- endset %}
{{ identity_compare_pairs(pairs) }}
{%- else %}
{{ identity_compare_pairs(ref('int_identity_pairs_blocked')) }}
{%- endif %}
