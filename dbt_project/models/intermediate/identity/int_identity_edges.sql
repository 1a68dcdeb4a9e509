-- Every reason two records are the same person, one row per (pair, rule): the deterministic key matches and
-- the fuzzy pairs that pass the thresholds. match_score is 1 for a shared key, the weighted similarity for a
-- fuzzy pair; evidence says which key or which similarities. Clustering reads only this table.

with

key_matches as (
    select * from {{ ref('int_identity_pairs_matched_on_keys') }}
),

scored_pairs as (
    select * from {{ ref('int_identity_pairs_scored') }}
),

fuzzy_matches as (
    select
        left_record_key,
        right_record_key,
        'fuzzy' as match_rule,
        match_score,
        {{ dbt.concat([
            "'blocks: '", 'blocks',
            "'; name '", identity_format_score('name_similarity'),
            "', date_of_birth '", identity_format_score('date_of_birth_similarity'),
            "', phone '", identity_format_score('phone_similarity'),
            "', postal_code '", identity_format_score('postal_code_similarity'),
            "', address '", identity_format_score('address_similarity'),
        ]) }} as evidence
    from scored_pairs
    where name_similarity >= {{ var('identity_fuzzy_min_name_similarity') }}
        and corroborating_attributes >= {{ var('identity_fuzzy_min_corroborating_attributes') }}
        and match_score >= {{ var('identity_fuzzy_min_score') }}
)

select left_record_key, right_record_key, match_rule, match_score, evidence from key_matches
union all
select left_record_key, right_record_key, match_rule, match_score, evidence from fuzzy_matches
