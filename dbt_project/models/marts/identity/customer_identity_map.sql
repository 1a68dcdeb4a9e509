-- One row per source record (CRM contact, Shopify customer, Segment anonymousId or userId) with the stable
-- customer_id of the person it belongs to, and the strongest rule tying it to another record of that person:
-- shared keys before the match model's links (fuzzy), higher match probabilities first; 'singleton' for a
-- record tied to nothing.

with

records as (
    select * from {{ ref('int_identity_records_capped') }}
),

assignments as (
    select * from {{ ref('int_identity_records_assigned') }}
),

edges as (
    select * from {{ ref('int_identity_edges') }}
),

record_edges as (
    select
        left_record_key as record_key,
        match_rule,
        match_probability as match_score
    from edges
    union all
    select
        right_record_key,
        match_rule,
        match_probability
    from edges
),

strongest_edges as (
    select
        record_key,
        match_rule,
        match_score,
        row_number() over (
            partition by record_key
            order by case when match_rule = 'fuzzy' then 1 else 0 end asc, match_score desc, match_rule asc
        ) as strength_rank
    from record_edges
)

select
    cast(assignments.source_system as {{ dbt.type_string() }}) as source_system,
    cast(assignments.source_id as {{ dbt.type_string() }}) as source_id,
    cast(assignments.customer_id as {{ dbt.type_string() }}) as customer_id,
    cast(coalesce(strongest_edges.match_rule, 'singleton') as {{ dbt.type_string() }}) as match_rule,
    cast(coalesce(strongest_edges.match_score, 1.0) as double) as match_score
from records
inner join assignments on records.record_key = assignments.record_key
left join strongest_edges
    on records.record_key = strongest_edges.record_key
        and strongest_edges.strength_rank = 1
