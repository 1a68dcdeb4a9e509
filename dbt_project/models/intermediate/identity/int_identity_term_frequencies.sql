-- How often each first name, last name and postal code occurs among the records: the u of an exact level for
-- that value (term-frequency adjustment, int_identity_pairs_scored). Saved with the trained parameters, not
-- recomputed by every run: a frequency over the whole population moves with every insert, and every pair
-- agreeing on any value would have to be scored again (docs/identity.md, "Incremental resolution"). Computed on
-- the first build and again when the trained parameters change (a new parameters_version of seed
-- identity_match_training, written by `warehouse identity train`) or when a run sets var
-- identity_refresh_term_frequencies; a value first seen later weighs the level's trained u. Never rebuilt by
-- --full-refresh (full_refresh=false), like the stable customer ids: a full rebuild scores as the runs did.

{{ config(
    materialized='incremental',
    unique_key=['comparison', 'value'],
    full_refresh=false,
    on_schema_change='fail',
    pre_hook="{% if is_incremental() %}delete from {{ this }} where {{ 'true' if var('identity_refresh_term_frequencies', false)
        else 'parameters_version not in (select parameters_version from ' ~ ref('identity_match_training') ~ ')' }}{% endif %}",
    post_hook="{{ identity_prune_term_frequencies(ref('int_identity_records_standardized')) }}",
) }}

{%- set tf_comparisons = identity_term_frequency_comparisons() %}

with

records as (
    select * from {{ ref('int_identity_records_standardized') }}
),

training as (
    select * from {{ ref('identity_match_training') }}
),

values_seen as (
    {%- for comparison in tf_comparisons %}
    {%- set column = 'postal_code_normalized' if comparison == 'postal_code' else comparison ~ '_normalized' %}
    select
        '{{ comparison }}' as comparison,
        {{ column }} as value
    from records
    where {{ column }} is not null
    {{- '\n    union all' if not loop.last }}
    {%- endfor %}
),

frequencies as (
    select
        comparison,
        value,
        cast(count(*) as double) / sum(count(*)) over (partition by comparison) as term_frequency
    from values_seen
    group by comparison, value
)

select
    frequencies.comparison,
    frequencies.value,
    frequencies.term_frequency,
    training.parameters_version,
    {{ identity_run_started() }} as dbt_updated_at
from frequencies
cross join training
{%- if is_incremental() %}
-- kept as they are unless the pre-hook emptied the table (new parameters, or a refresh asked for)
where not exists (select 1 from {{ this }})
{%- endif %}
