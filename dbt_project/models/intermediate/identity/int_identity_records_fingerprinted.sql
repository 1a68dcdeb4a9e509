-- What identity resolution reads of each record, as hashed facets, and which records changed since the last
-- run: the state incremental resolution starts from. Facets: 'record' (it exists), 'attributes' (every
-- standardized column the match model compares), 'block' (each block it is in) and 'key' (each key it holds).
-- An incremental run writes the facets of the records whose facets differ from the stored ones, with
-- is_current = false rows holding what they were before (a removed record has only those), all stamped with
-- the run's changed_at: int_identity_records_touched reads them to find the blocks and keys whose membership
-- changed. The "before" rows are deleted once int_identity_records_touched has read them (its post-hook; this
-- model's own post-hook removes any an interrupted run left). Only hashes and record keys are stored: an erased
-- person's rows leave with the run that follows the erasure.

{{ config(
    materialized='incremental',
    unique_key='record_key',
    meta={'run_stamp_column': 'changed_at'},
    on_schema_change='fail',
    post_hook="{% if is_incremental() %}delete from {{ this }} where not is_current
        and changed_at < {{ identity_run_started() }}{% endif %}",
) }}

{%- set attribute_columns = [
    'first_name_normalized', 'last_name_normalized', 'phone_e164', 'address_normalized', 'city_normalized',
    'postal_code_normalized', 'country_code', 'date_of_birth', 'house_number', 'date_of_birth_digits',
    'phone_is_mobile',
] %}

with

records as (
    select * from {{ ref('int_identity_records_unioned') }}
),

standardized as (
    select * from {{ ref('int_identity_records_standardized') }}
),

keys as (
    select * from {{ ref('int_identity_keys_extracted') }}
),

blocks as (
    {{ identity_record_blocks('standardized') }}
),

current_facets as (
    select
        record_key,
        'record' as facet_type,
        source_system as facet
    from records
    union all
    select
        record_key,
        'attributes' as facet_type,
        {{ identity_fingerprint(attribute_columns) }} as facet
    from standardized
    union all
    select distinct
        record_key,
        'block' as facet_type,
        {{ identity_fingerprint(['block_type', 'block_value']) }} as facet
    from blocks
    union all
    select distinct
        record_key,
        'key' as facet_type,
        {{ identity_fingerprint(['key_type', 'key_value']) }} as facet
    from keys
),

{% if is_incremental() %}
previous_facets as (
    select
        record_key,
        facet_type,
        facet
    from {{ this }}
    where is_current
),

-- a record changed when any facet is new or gone: the two sets differ
changed_records as (
    select distinct coalesce(current_facets.record_key, previous_facets.record_key) as record_key
    from current_facets
    full outer join previous_facets
        on current_facets.record_key = previous_facets.record_key
            and current_facets.facet_type = previous_facets.facet_type
            and current_facets.facet = previous_facets.facet
    where current_facets.record_key is null or previous_facets.record_key is null
),

written as (
    select
        current_facets.*,
        true as is_current
    from current_facets
    inner join changed_records on current_facets.record_key = changed_records.record_key
    union all
    select
        previous_facets.*,
        false as is_current
    from previous_facets
    inner join changed_records on previous_facets.record_key = changed_records.record_key
)
{% else %}
written as (
    select
        *,
        true as is_current
    from current_facets
)
{% endif %}

select
    record_key,
    facet_type,
    facet,
    is_current,
    {{ identity_run_started() }} as changed_at
from written
