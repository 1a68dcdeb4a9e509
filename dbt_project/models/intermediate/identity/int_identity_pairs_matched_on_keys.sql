-- Deterministic edges: records sharing a key. Each key's records are joined to one anchor (a CRM or Shopify
-- record when there is one, else the Segment userId, else the smallest key) rather than to each other: the
-- same clusters with a linear number of edges. Keys held by too many records identify nobody and are skipped,
-- and so are emails no CRM or Shopify record holds (Segment traits.email links Segment ids to a customer).

with

keys as (
    select * from {{ ref('int_identity_keys_extracted') }}
),

ranked as (
    select
        *,
        count(*) over (partition by key_type, key_value) as records_with_key,
        sum(case when source_system = 'analytics' then 0 else 1 end)
            over (partition by key_type, key_value) as customer_records_with_key,
        row_number() over (
            partition by key_type, key_value
            order by
                case when source_system <> 'analytics' then 0 when source_id = key_value then 1 else 2 end,
                record_key
        ) as anchor_rank
    from keys
),

anchors as (
    select
        key_type,
        key_value,
        record_key as anchor_key
    from ranked
    where anchor_rank = 1
),

matches as (
    select
        anchors.anchor_key as left_record_key,
        ranked.record_key as right_record_key,
        case
            when ranked.key_type = 'email' and ranked.source_system = 'analytics' then 'segment_traits_email'
            when ranked.key_type = 'shopify_customer_id' and ranked.source_id = ranked.key_value
                then 'segment_user_id'
            when ranked.key_type = 'shopify_customer_id' then 'segment_anonymous_id'
            else ranked.key_type
        end as match_rule,
        cast(1.0 as double) as match_probability,
        {{ dbt.concat(['ranked.key_type', "' = '", 'ranked.key_value']) }} as evidence
    from ranked
    inner join anchors
        on ranked.key_type = anchors.key_type
            and ranked.key_value = anchors.key_value
    where ranked.anchor_rank > 1
        and ranked.records_with_key <= {{ var('identity_max_records_per_key') }}
        -- an email only Segment has seen (a staff "qa+1@..." login) ties no customer record: no edges
        and (ranked.key_type <> 'email' or ranked.customer_records_with_key > 0)
)

-- two keys (two emails) may tie the same pair by the same rule: one edge, the first key as evidence
select
    left_record_key,
    right_record_key,
    match_rule,
    match_probability,
    min(evidence) as evidence
from matches
group by left_record_key, right_record_key, match_rule, match_probability
