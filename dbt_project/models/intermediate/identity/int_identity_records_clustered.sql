-- Connected components of the edge graph: each record's cluster_key is the smallest record_key it is
-- connected to. Min-label propagation unrolled var('identity_max_iterations') times (macro
-- identity_components_ctes); every round also jumps to the label's own label, so few rounds suffice.
-- changed_in_last_iteration is tested false: the bound sufficed.
--
-- The rounds join and compare record numbers, not the record keys: numbered in key order, the smallest number
-- is the smallest key, and each round's joins and minimums on integers took 0.9 s instead of 2.0 at 280k
-- records (medium scale).
--
-- Incremental (docs/identity.md, "Incremental resolution"): a run re-clusters the touched records
-- (int_identity_records_touched), the records they are now linked to, and every record of the stored
-- components of those. An edge that changed has a touched side, and an edge that did not lies within one stored
-- component, so these records are linked to no one else: their components are whole, and every other
-- component is as it was. resolved_at: the run that last re-clustered the record. Records that no longer exist
-- are deleted after the run (post-hook).

{{ config(
    materialized='incremental',
    unique_key='record_key',
    meta={'run_stamp_column': 'resolved_at'},
    on_schema_change='sync_all_columns',
    post_hook="{{ identity_delete_removed_records() }}",
) }}
-- depends_on: {{ ref('int_identity_records_touched') }}

{%- set max_iterations = var('identity_max_iterations') %}

with

records as (
    select record_key from {{ ref('int_identity_records_unioned') }}
),

edges as (
    select * from {{ ref('int_identity_edges') }}
),

{% if is_incremental() %}
touched as (
    select record_key from {{ ref('int_identity_records_touched') }}
),

linked as (
    select record_key from touched
    union
    select edges.right_record_key from edges inner join touched on edges.left_record_key = touched.record_key
    union
    select edges.left_record_key from edges inner join touched on edges.right_record_key = touched.record_key
),

stored as (
    select
        record_key,
        cluster_key
    from {{ this }}
),

affected as (
    select record_key from linked
    union
    select stored.record_key
    from stored
    inner join stored as linked_stored on stored.cluster_key = linked_stored.cluster_key
    inner join linked on linked_stored.record_key = linked.record_key
),

scoped as (
    select records.record_key
    from records
    inner join affected on records.record_key = affected.record_key
),
{% else %}
scoped as (
    select record_key from records
),
{% endif %}

numbered as (
    select
        record_key,
        row_number() over (order by record_key) as record_number
    from scoped
),

numbered_edges as (
    select
        left_numbers.record_number as left_number,
        right_numbers.record_number as right_number
    from edges
    inner join numbered as left_numbers on edges.left_record_key = left_numbers.record_key
    inner join numbered as right_numbers on edges.right_record_key = right_numbers.record_key
),

{{ identity_components_ctes('components', 'numbered', 'numbered_edges', max_iterations) }}
final as (
    select
        numbered.record_key,
        clusters.record_key as cluster_key,
        last_labels.label <> before_last_labels.label as changed_in_last_iteration,
        {{ identity_run_started() }} as resolved_at
    from numbered
    inner join components_labels_{{ max_iterations }} as last_labels
        on numbered.record_number = last_labels.record_number
    inner join components_labels_{{ max_iterations - 1 }} as before_last_labels
        on numbered.record_number = before_last_labels.record_number
    inner join numbered as clusters on last_labels.label = clusters.record_number
)

select * from final
