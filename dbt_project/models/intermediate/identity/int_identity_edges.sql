-- Every reason two records are the same person, one row per (pair, rule): the shared keys (email, Segment
-- ids) and the pairs the match model links - match_probability >= var('identity_link_probability') and no
-- guard against false merges raised (int_identity_pairs_scored.guard). Key edges have probability 1 and no field
-- weights; a model edge keeps its weight per field and evidence an analyst reads. Clustering reads only this table.

{%- set comparisons = identity_comparisons() %}

with

key_matches as (
    select * from {{ ref('int_identity_pairs_matched_on_keys') }}
),

scored_pairs as (
    select * from {{ ref('int_identity_pairs_scored') }}
),

model_matches as (
    select
        left_record_key,
        right_record_key,
        'fuzzy' as match_rule,
        match_probability,
        match_weight,
        {%- for comparison in comparisons %}
        weight_{{ comparison }},
        {%- endfor %}
        {{ identity_model_evidence() }} as evidence
    from scored_pairs
    where match_probability >= {{ var('identity_link_probability') }}
        and guard is null
)

select
    left_record_key,
    right_record_key,
    match_rule,
    match_probability,
    cast(null as double) as match_weight,
    {%- for comparison in comparisons %}
    cast(null as double) as weight_{{ comparison }},
    {%- endfor %}
    evidence
from key_matches

union all

select * from model_matches
