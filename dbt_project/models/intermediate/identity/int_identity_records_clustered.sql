-- Connected components of the edge graph: each record's cluster_key is the smallest record_key it is
-- connected to. Min-label propagation unrolled var('identity_max_iterations') times (macro
-- identity_components_ctes); every round also jumps to the label's own label, so few rounds suffice.
-- changed_in_last_iteration is tested false: the bound sufficed.
--
-- The rounds join and compare record numbers, not the record keys: numbered in key order, the smallest number
-- is the smallest key, and each round's joins and minimums on integers took 0.9 s instead of 2.0 at 280k
-- records (medium scale).

{%- set max_iterations = var('identity_max_iterations') %}

with

numbered as (
    select
        *,
        row_number() over (order by record_key) as record_number
    from {{ ref('int_identity_records_unioned') }}
),

numbered_edges as (
    select
        left_numbers.record_number as left_number,
        right_numbers.record_number as right_number
    from {{ ref('int_identity_edges') }} as edges
    inner join numbered as left_numbers on edges.left_record_key = left_numbers.record_key
    inner join numbered as right_numbers on edges.right_record_key = right_numbers.record_key
),

{{ identity_components_ctes('components', 'numbered', 'numbered_edges', max_iterations) }}
final as (
    select
        numbered.record_key,
        numbered.source_system,
        numbered.source_id,
        numbered.first_seen_at,
        clusters.record_key as cluster_key,
        last_labels.label <> before_last_labels.label as changed_in_last_iteration
    from numbered
    inner join components_labels_{{ max_iterations }} as last_labels
        on numbered.record_number = last_labels.record_number
    inner join components_labels_{{ max_iterations - 1 }} as before_last_labels
        on numbered.record_number = before_last_labels.record_number
    inner join numbered as clusters on last_labels.label = clusters.record_number
)

select * from final
