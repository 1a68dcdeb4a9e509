-- Connected components of the edge graph: each record's cluster_key is the smallest record_key it is
-- connected to. Min-label propagation unrolled var('identity_max_iterations') times; every round also jumps
-- to the label's own label, so the distance to the minimum halves and few rounds suffice.
-- changed_in_last_iteration is tested false: the bound sufficed.

{%- set max_iterations = var('identity_max_iterations') %}

with

records as (
    select * from {{ ref('int_identity_records_unioned') }}
),

edges as (
    select * from {{ ref('int_identity_edges') }}
),

neighbours as (
    select left_record_key as record_key, right_record_key as neighbour_key from edges
    union
    select right_record_key, left_record_key from edges
),

labels_0 as (
    select record_key, record_key as label from records
),
{% for i in range(1, max_iterations + 1) %}
propagated_{{ i }} as (
    select
        labels.record_key,
        least(labels.label, coalesce(min(neighbour_labels.label), labels.label)) as label
    from labels_{{ i - 1 }} as labels
    left join neighbours on labels.record_key = neighbours.record_key
    left join labels_{{ i - 1 }} as neighbour_labels on neighbours.neighbour_key = neighbour_labels.record_key
    group by labels.record_key, labels.label
),

labels_{{ i }} as (
    select propagated.record_key, least(propagated.label, label_of_label.label) as label
    from propagated_{{ i }} as propagated
    inner join propagated_{{ i }} as label_of_label on propagated.label = label_of_label.record_key
),
{% endfor %}

final as (
    select
        records.record_key,
        records.source_system,
        records.source_id,
        records.first_seen_at,
        last_labels.label as cluster_key,
        last_labels.label <> before_last_labels.label as changed_in_last_iteration
    from records
    inner join labels_{{ max_iterations }} as last_labels on records.record_key = last_labels.record_key
    inner join labels_{{ max_iterations - 1 }} as before_last_labels
        on records.record_key = before_last_labels.record_key
)

select * from final
