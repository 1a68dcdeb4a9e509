-- Every blocked candidate pair with the similarity of each attribute and the weighted score. An attribute
-- either record lacks is unknown: it counts neither for nor against. Analysts tune the vars on this table.

{%- set weights = {
    'name_similarity': var('identity_fuzzy_weight_name'),
    'date_of_birth_similarity': var('identity_fuzzy_weight_date_of_birth'),
    'phone_similarity': var('identity_fuzzy_weight_phone'),
    'postal_code_similarity': var('identity_fuzzy_weight_postal_code'),
    'address_similarity': var('identity_fuzzy_weight_address'),
} %}

with

pairs as (
    select * from {{ ref('int_identity_pairs_blocked') }}
),

records as (
    select *, {{ identity_house_number('address_normalized') }} as house_number
    from {{ ref('int_identity_records_standardized') }}
),

compared as (
    select
        pairs.left_record_key,
        pairs.right_record_key,
        pairs.blocks,
        {{ identity_name_similarity(
            'left_record.first_name_group', 'left_record.last_name_normalized',
            'right_record.first_name_group', 'right_record.last_name_normalized',
            'left_record.last_name_group', 'right_record.last_name_group') }} as name_similarity,
        {{ identity_equality_score('left_record.date_of_birth', 'right_record.date_of_birth') }}
            as date_of_birth_similarity,
        {{ identity_equality_score('left_record.phone_e164', 'right_record.phone_e164') }}
            as phone_similarity,
        {{ identity_equality_score(
            'left_record.postal_code_normalized', 'right_record.postal_code_normalized') }}
            as postal_code_similarity,
        {{ identity_address_similarity(
            'left_record.address_normalized', 'right_record.address_normalized',
            'left_record.house_number', 'right_record.house_number') }}
            as address_similarity
    from pairs
    inner join records as left_record on pairs.left_record_key = left_record.record_key
    inner join records as right_record on pairs.right_record_key = right_record.record_key
)

select
    *,
    {{ identity_weighted_mean(weights) }} as match_score,
    {% for column in weights if column != 'name_similarity' -%}
        case when {{ column }} is null then 0 else 1 end {{- ' +' if not loop.last }}
    {% endfor -%} as corroborating_attributes
from compared
