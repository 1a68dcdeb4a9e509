-- Random record pairs, compared as the blocked pairs are: what agreement looks like between two records
-- that are almost surely different people. Training estimates each level's u probability from them (`warehouse
-- identity train`). Deterministic: records are ordered by a hash of their key and each of the first
-- var('identity_u_sample_records') is paired with the next var('identity_u_sample_partners') in that order.
-- Built only for training (var identity_training, which `warehouse identity train` sets): runs do not need it.

{{ config(enabled=var('identity_training', false)) }}

{%- set random_pairs %}
(
    with records as (
        select record_key, row_number() over (order by {{ dbt.hash('record_key') }}, record_key) as sample_rank
        from {{ ref('int_identity_records_standardized') }}
    )

    select
        least(sampled.record_key, partner.record_key) as left_record_key,
        greatest(sampled.record_key, partner.record_key) as right_record_key,
        'random' as blocks
    from records as sampled
    inner join records as partner
        on partner.sample_rank > sampled.sample_rank
        and partner.sample_rank <= sampled.sample_rank + {{ var('identity_u_sample_partners') }}
    where sampled.sample_rank <= {{ var('identity_u_sample_records') }}
) as random_pairs
{%- endset %}

{{ identity_compare_pairs(random_pairs) }}
