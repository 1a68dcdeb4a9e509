-- The customer_id of every record, stable across runs: the previous run's assignment is this model's own
-- state. Each previous customer_id passes to the current cluster of its smallest holder; a cluster heir to
-- several (a merge) keeps the oldest; a cluster heir to none mints one from its cluster_key. Never rebuilt
-- by --full-refresh: that would re-mint every id.

{{ config(
    materialized='incremental',
    unique_key='record_key',
    full_refresh=false,
) }}

{%- set run_started_text = run_started_at.strftime('%Y-%m-%d %H:%M:%S') %}
{%- set run_started = "cast('" ~ run_started_text ~ "' as " ~ dbt.type_timestamp() ~ ")" %}

with

clusters as (
    select * from {{ ref('int_identity_records_capped') }}
),

previous as (
    -- noqa: disable=LT02
    {% if is_incremental() -%}
        select record_key, customer_id, customer_id_since from {{ this }}
    {%- else -%}
        select
            cast(null as {{ dbt.type_string() }}) as record_key,
            cast(null as {{ dbt.type_string() }}) as customer_id,
            {{ run_started }} as customer_id_since
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

heirs as (
    select customer_id
    from inherited
    where heir_rank = 1
),

minted as (
    -- the id an earlier cluster with the same smallest member got may still live on in another cluster
    select
        cluster_key,
        case
            when {{ identity_mint_customer_id('cluster_key') }} in (select heirs.customer_id from heirs)
                then {{ identity_mint_customer_id(dbt.concat(['cluster_key', "'@'", run_started])) }}
            else {{ identity_mint_customer_id('cluster_key') }}
        end as customer_id
    from orphans
)

select
    clusters.record_key,
    clusters.source_system,
    clusters.source_id,
    clusters.cluster_key,
    coalesce(inherited.customer_id, minted.customer_id) as customer_id,
    coalesce(inherited.customer_id_since, {{ run_started }}) as customer_id_since
from clusters
left join inherited on clusters.cluster_key = inherited.cluster_key and inherited.heir_rank = 1
left join minted on clusters.cluster_key = minted.cluster_key
