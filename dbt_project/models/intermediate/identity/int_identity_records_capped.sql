-- Clusters within the documented caps (vars identity_max_*_per_customer), as Segment and RudderStack cap
-- their identity graphs: a cluster over a cap (more records, distinct emails or distinct dates of birth than
-- one person has) is split at its weakest edges. Each of var('identity_cap_split_rounds') rounds removes,
-- in every part still over a cap, the model edges of its lowest match weight (key edges are never removed),
-- then recomputes the parts. Every record of a split cluster says which cap it exceeded (split_by_cap), and
-- exceeds_cap_after_split when the rounds did not suffice: flagged, never silently kept.
--
-- Incremental: caps and splits are per component, so a run caps only the components
-- int_identity_records_clustered re-clustered in this run (resolved_at), and every other record keeps its part.

{{ config(
    materialized='incremental',
    unique_key='record_key',
    meta={'run_stamp_column': 'resolved_at'},
    on_schema_change='sync_all_columns',
    post_hook=[
        "{{ identity_delete_removed_records() }}",
        "delete from {{ ref('int_identity_records_touched') }} where is_removed",
    ],
) }}
-- The second post-hook: this is the last model to read the run's touched records, and a removed (erased) record
-- keeps no key in the warehouse once the run that saw it go is done.
-- depends_on: {{ ref('int_identity_records_touched') }}

{%- set rounds = var('identity_cap_split_rounds') %}
{%- set iterations = var('identity_max_iterations') %}

with

clusters as (
    select * from {{ ref('int_identity_records_clustered') }}
    {%- if is_incremental() %}
    where {{ identity_written_this_run('resolved_at') }}
    {%- endif %}
),

edges as (
    select * from {{ ref('int_identity_edges') }}
),

-- what each record brings to its cluster's counts: its emails and its date of birth
record_facts as (
    select
        record_key,
        key_value as email,
        cast(null as date) as date_of_birth
    from {{ ref('int_identity_keys_extracted') }}
    where key_type = 'email'
    union all
    select
        record_key,
        null as email,
        date_of_birth
    from {{ ref('int_identity_records_standardized') }}
    where date_of_birth is not null
),

cluster_counts as (
    select
        clusters.cluster_key,
        count(distinct clusters.record_key) as records,
        count(distinct record_facts.email) as emails,
        count(distinct record_facts.date_of_birth) as dates_of_birth
    from clusters
    left join record_facts on clusters.record_key = record_facts.record_key
    group by clusters.cluster_key
),

over_cap as (
    select
        cluster_key,
        case
            when records > {{ var('identity_max_records_per_customer') }} then 'records'
            when emails > {{ var('identity_max_emails_per_customer') }} then 'emails'
            else 'dates_of_birth'
        end as split_by_cap
    from cluster_counts
    where {{ identity_over_cap('records', 'emails', 'dates_of_birth') }}
),

-- the records of over-cap clusters, numbered in key order (a part's smallest number is its smallest key)
members as (
    select
        clusters.record_key,
        clusters.cluster_key,
        row_number() over (order by clusters.record_key) as record_number
    from clusters
    inner join over_cap on clusters.cluster_key = over_cap.cluster_key
),

member_facts as (
    select
        members.record_number,
        record_facts.email,
        record_facts.date_of_birth
    from members
    left join record_facts on members.record_key = record_facts.record_key
),

member_edges_0 as (
    select
        left_members.record_number as left_number,
        right_members.record_number as right_number,
        -- a key edge has no strength: it is never removed
        case when edges.match_rule = 'fuzzy' then edges.match_weight end as strength
    from edges
    inner join members as left_members on edges.left_record_key = left_members.record_key
    inner join members as right_members on edges.right_record_key = right_members.record_key
),

round_0_labels as (
    select
        record_number,
        min(record_number) over (partition by cluster_key) as label
    from members
),
{% for round in range(1, rounds + 2) %}
round_{{ round }}_over_cap as (
    select labels.label
    from round_{{ round - 1 }}_labels as labels
    inner join member_facts on labels.record_number = member_facts.record_number
    group by labels.label
    having {{ identity_over_cap(
        'count(distinct member_facts.record_number)',
        'count(distinct member_facts.email)',
        'count(distinct member_facts.date_of_birth)') }}
),
{% if round <= rounds %}
round_{{ round }}_ranked_edges as (
    select
        member_edges.*,
        labels.label,
        min(member_edges.strength) over (partition by labels.label) as weakest
    from member_edges_{{ round - 1 }} as member_edges
    inner join round_{{ round - 1 }}_labels as labels on member_edges.left_number = labels.record_number
),

member_edges_{{ round }} as (
    select
        ranked.left_number,
        ranked.right_number,
        ranked.strength
    from round_{{ round }}_ranked_edges as ranked
    where ranked.strength is null
        or ranked.strength > ranked.weakest
        or ranked.label not in (select over_cap.label from round_{{ round }}_over_cap as over_cap)
),

{{ identity_components_ctes('round_' ~ round, 'members', 'member_edges_' ~ round, iterations) }}
round_{{ round }}_labels as (
    select * from round_{{ round }}_labels_{{ iterations }}
),
{% endif %}
{% endfor %}

split as (
    select
        members.record_key,
        parts.record_key as cluster_key,
        labels.label in (select over_cap.label from round_{{ rounds + 1 }}_over_cap as over_cap)
            as exceeds_cap_after_split
    from members
    inner join round_{{ rounds }}_labels as labels on members.record_number = labels.record_number
    inner join members as parts on labels.label = parts.record_number
)

select
    clusters.record_key,
    coalesce(split.cluster_key, clusters.cluster_key) as cluster_key,
    over_cap.split_by_cap,
    coalesce(split.exceeds_cap_after_split, false) as exceeds_cap_after_split,
    {{ identity_run_started() }} as resolved_at
from clusters
left join split on clusters.record_key = split.record_key
left join over_cap on clusters.cluster_key = over_cap.cluster_key
