-- The records this run re-resolves, one row each (docs/identity.md, "Incremental resolution"):
-- - every record whose facets changed this run (int_identity_records_fingerprinted), new and removed ones
--   included; must_rescore when what the match model compares of it changed (its attributes: its blocks derive
--   from them), so that its pairs are blocked, compared and scored again;
-- - every member of a block that crossed var('identity_max_block_size') this run (must_rescore): the pairs
--   between its untouched members appear or go;
-- - every holder of a key whose holders changed: its key edges (anchor, crowded keys) may change;
-- - every record, to be rescored, when the term frequencies were refreshed this run (new trained parameters).
-- Clustering adds the records these now link to, and the components of all of them (int_identity_records_clustered).

-- Once read here, the facets records had before this run's change are no longer needed: the post-hook deletes
-- them, so an erased record's key leaves the warehouse with the run that follows the erasure.
{{ config(
    post_hook="delete from {{ ref('int_identity_records_fingerprinted') }} where not is_current",
) }}

{%- set max_block_size = var('identity_max_block_size') %}

with

facets as (
    select * from {{ ref('int_identity_records_fingerprinted') }}
),

term_frequencies as (
    select * from {{ ref('int_identity_term_frequencies') }}
),

changed_facets as (
    select * from facets
    where {{ identity_written_this_run('changed_at') }}
),

changed_records as (
    select
        record_key,
        max(case when is_current then 1 else 0 end) = 0 as is_removed,
        -- on a first build there are no "before" rows: every record with attributes counts as changed
        coalesce(max(case when facet_type = 'attributes' and is_current then facet end), '')
        <> coalesce(max(case when facet_type = 'attributes' and not is_current then facet end), '')
            as attributes_changed
    from changed_facets
    group by record_key
),

-- members gained minus members lost, per block a changed record is or was in
block_changes as (
    select
        facet,
        sum(case when is_current then 1 else -1 end) as members_gained
    from changed_facets
    where facet_type = 'block'
    group by facet
),

block_sizes as (
    select
        facet,
        count(*) as members
    from facets
    where is_current and facet_type = 'block' and facet in (select block_changes.facet from block_changes)
    group by facet
),

-- oversized blocks make no pairs: a block whose size crossed the cap this run adds or drops its members' pairs
crossed_blocks as (
    select block_changes.facet
    from block_changes
    left join block_sizes on block_changes.facet = block_sizes.facet
    where (coalesce(block_sizes.members, 0) <= {{ max_block_size }})
        <> (coalesce(block_sizes.members, 0) - block_changes.members_gained <= {{ max_block_size }})
),

-- a key a changed record gained or lost: a row on one side of the change only (now, or before)
changed_keys as (
    select facet
    from changed_facets
    where facet_type = 'key'
    group by record_key, facet
    having count(*) = 1
),

terms_refreshed as (
    select count(*) as refreshed
    from term_frequencies
    where {{ identity_written_this_run('dbt_updated_at') }}
),

touched as (
    select
        record_key,
        attributes_changed as must_rescore,
        is_removed
    from changed_records
    union all
    select
        facets.record_key,
        true as must_rescore,
        false as is_removed
    from facets
    inner join crossed_blocks on facets.facet = crossed_blocks.facet
    where facets.is_current and facets.facet_type = 'block'
    union all
    select
        facets.record_key,
        false as must_rescore,
        false as is_removed
    from facets
    where facets.is_current and facets.facet_type = 'key'
        and facets.facet in (select changed_keys.facet from changed_keys)
    union all
    select
        facets.record_key,
        true as must_rescore,
        false as is_removed
    from facets
    cross join terms_refreshed
    where terms_refreshed.refreshed > 0 and facets.is_current and facets.facet_type = 'attributes'
)

select
    record_key,
    max(case when must_rescore then 1 else 0 end) = 1 as must_rescore,
    max(case when is_removed then 1 else 0 end) = 1 as is_removed
from touched
group by record_key
