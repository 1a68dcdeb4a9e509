-- Connected components of the edge graph: each record's cluster_key is the smallest record_key it is
-- connected to. Min-label propagation unrolled var('identity_max_iterations') times; every round also jumps
-- to the label's own label, so the distance to the minimum halves and few rounds suffice.
-- changed_in_last_iteration is tested false: the bound sufficed.
--
-- The rounds join and compare record numbers, not the record keys: numbered in key order, the smallest number
-- is the smallest key, and each round's joins and minimums on integers took 0.9 s instead of 2.0 at 280k
-- records (medium scale).

{%- set max_iterations = var('identity_max_iterations') %}

with

numbered as (
    select *, row_number() over (order by record_key) as record_number
    from {{ ref('int_identity_records_unioned') }}
),

numbered_edges as (
    select left_numbers.record_number as left_number, right_numbers.record_number as right_number
    from {{ ref('int_identity_edges') }} as edges
    inner join numbered as left_numbers on edges.left_record_key = left_numbers.record_key
    inner join numbered as right_numbers on edges.right_record_key = right_numbers.record_key
),

neighbours as (
    select left_number as record_number, right_number as neighbour_number from numbered_edges
    union
    select right_number, left_number from numbered_edges
),

labels_0 as (
    select record_number, record_number as label from numbered
),
{% for i in range(1, max_iterations + 1) %}
propagated_{{ i }} as (
    select
        labels.record_number,
        least(labels.label, coalesce(min(neighbour_labels.label), labels.label)) as label
    from labels_{{ i - 1 }} as labels
    left join neighbours on labels.record_number = neighbours.record_number
    left join labels_{{ i - 1 }} as neighbour_labels on neighbours.neighbour_number = neighbour_labels.record_number
    group by labels.record_number, labels.label
),

labels_{{ i }} as (
    select propagated.record_number, least(propagated.label, label_of_label.label) as label
    from propagated_{{ i }} as propagated
    inner join propagated_{{ i }} as label_of_label on propagated.label = label_of_label.record_number
),
{% endfor %}

final as (
    select
        numbered.record_key,
        numbered.source_system,
        numbered.source_id,
        numbered.first_seen_at,
        clusters.record_key as cluster_key,
        last_labels.label <> before_last_labels.label as changed_in_last_iteration
    from numbered
    inner join labels_{{ max_iterations }} as last_labels on numbered.record_number = last_labels.record_number
    inner join labels_{{ max_iterations - 1 }} as before_last_labels
        on numbered.record_number = before_last_labels.record_number
    inner join numbered as clusters on last_labels.label = clusters.record_number
)

select * from final
