-- The customer_id of every record, stable across runs: the previous run's assignment is this model's own
-- state. Each previous customer_id passes to the current cluster of its smallest holder; a cluster heir to
-- several (a merge) keeps the oldest; a cluster heir to none mints one from its cluster_key. Never rebuilt
-- by --full-refresh: that would re-mint every id.
--
-- A run assigns only the records whose part int_identity_records_capped re-capped in this run (every record, after
-- a full rebuild of the clusters): a customer_id is held by the records of one part, and a re-capped part's
-- stored component was re-clustered whole, so the holders of every id it meets are all in the batch; the ids of
-- the other parts stay as they are, and a minted id must differ from them too. dbt_updated_at: the run that last
-- changed the record's customer_id or cluster_key, for the marts that follow identity changes incrementally.

{{ config(
    materialized='incremental',
    unique_key='record_key',
    full_refresh=false,
    on_schema_change='append_new_columns',
) }}

{%- set run_started = identity_run_started() %}
{#- a table assigned before dbt_updated_at existed gains the column with this run (append_new_columns) #}
{%- set stored_columns = ['dbt_updated_at'] %}
{%- if execute and is_incremental() and model.resource_type == 'model' %}
{%- set stored_columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list %}
{%- endif %}

with

records as (
    select * from {{ ref('int_identity_records_unioned') }}
),

capped as (
    select * from {{ ref('int_identity_records_capped') }}
),

clusters as (
    select * from capped
    {%- if is_incremental() %}
    where {{ identity_written_this_run('resolved_at') }}
    {%- endif %}
),

previous as (
    -- noqa: disable=LT02
    {% if is_incremental() -%}
        select
            record_key,
            cluster_key,
            customer_id,
            customer_id_since,
            {{ 'dbt_updated_at' if 'dbt_updated_at' in stored_columns else 'customer_id_since as dbt_updated_at' }}
        from {{ this }}
    {%- else -%}
        select
            cast(null as {{ dbt.type_string() }}) as record_key,
            cast(null as {{ dbt.type_string() }}) as cluster_key,
            cast(null as {{ dbt.type_string() }}) as customer_id,
            {{ run_started }} as customer_id_since,
            {{ run_started }} as dbt_updated_at
        where 1 = 0
    {%- endif %}
    -- noqa: enable=LT02
),

holders as (
    select
        previous.customer_id,
        previous.customer_id_since,
        clusters.cluster_key,
        row_number() over (partition by previous.customer_id order by clusters.record_key) as holder_rank
    from previous
    inner join clusters on previous.record_key = clusters.record_key
),

inherited as (
    select
        cluster_key,
        customer_id,
        customer_id_since,
        row_number() over (partition by cluster_key order by customer_id_since, customer_id) as heir_rank
    from holders
    where holder_rank = 1
),

orphans as (
    select distinct clusters.cluster_key
    from clusters
    left join inherited on clusters.cluster_key = inherited.cluster_key and inherited.heir_rank = 1
    where inherited.cluster_key is null
),

-- the ids the current clusters hold: inherited in this batch, or kept by a part this run did not re-cap
held as (
    select customer_id
    from inherited
    where heir_rank = 1
    {%- if is_incremental() %}
    union all
    select previous.customer_id
    from previous
    inner join capped on previous.record_key = capped.record_key
    where not {{ identity_written_this_run('capped.resolved_at') }}
    {%- endif %}
),

minted as (
    -- the id an earlier cluster with the same smallest member got may still live on in another cluster: then
    -- the id of that id (deterministic, so that an incremental run and a full rebuild mint the same)
    {%- set first_choice = identity_mint_customer_id('cluster_key') %}
    select
        cluster_key,
        case
            when {{ first_choice }} in (select held.customer_id from held)
                then {{ identity_mint_customer_id(dbt.concat(['cluster_key', "'@'", first_choice])) }}
            else {{ first_choice }}
        end as customer_id
    from orphans
),

assigned as (
    select
        clusters.record_key,
        clusters.cluster_key,
        coalesce(inherited.customer_id, minted.customer_id) as customer_id,
        coalesce(inherited.customer_id_since, {{ run_started }}) as customer_id_since
    from clusters
    left join inherited on clusters.cluster_key = inherited.cluster_key and inherited.heir_rank = 1
    left join minted on clusters.cluster_key = minted.cluster_key
)

select
    assigned.record_key,
    records.source_system,
    records.source_id,
    assigned.cluster_key,
    assigned.customer_id,
    assigned.customer_id_since,
    case
        when previous.customer_id = assigned.customer_id and previous.cluster_key = assigned.cluster_key
            then coalesce(previous.dbt_updated_at, previous.customer_id_since)
        else {{ run_started }}
    end as dbt_updated_at
from assigned
inner join records on assigned.record_key = records.record_key
left join previous on assigned.record_key = previous.record_key
