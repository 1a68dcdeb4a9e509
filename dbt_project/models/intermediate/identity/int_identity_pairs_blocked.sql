-- Candidate pairs for the match model: only records that share a block are compared, so the cost grows with
-- the block sizes, not with the square of the record count. Blocks: same postal code (within a country),
-- same date of birth, same last-name prefix and birth year, same pair of name prefixes (first and last in
-- either order), same phone. Oversized blocks are skipped. One row per pair (left_record_key < right_record_key).

-- Incremental (docs/identity.md, "Incremental resolution"): a run pairs only the records
-- int_identity_records_touched marks must_rescore, against every record; the pre-hook first deletes their stored
-- pairs. Block sizes are always counted over every record, so a pair is kept or skipped as a full build would.

{{ config(
    materialized='incremental',
    unique_key=['left_record_key', 'right_record_key'],
    on_schema_change='fail',
    pre_hook="{{ identity_delete_rescored_pairs() }}",
) }}
-- depends_on: {{ ref('int_identity_records_touched') }}

{#- every block_type of macro identity_record_blocks, in alphabetical order -#}
{%- set block_types = ['date_of_birth', 'last_name_birth_year', 'name_prefixes', 'phone', 'postal_code'] %}
{%- set flagged_names = [] %}
{%- for block_type in block_types %}
{%- do flagged_names.append("case when shares_" ~ block_type ~ " = 1 then ', " ~ block_type ~ "' else '' end") %}
{%- endfor %}

with

records as (
    select * from {{ ref('int_identity_records_standardized') }}
),

blocks as (
    {{ identity_record_blocks('records') }}
),

-- Oversized blocks are dropped before the self-join, on both sides: neither side of the join hashes or
-- probes the members of a block that cannot produce pairs.
kept_blocks as (
    select
        record_key,
        block_type,
        block_value
    from blocks
    qualify count(*) over (partition by block_type, block_value) <= {{ var('identity_max_block_size') }}
),

{% if is_incremental() %}
rescored as (
    select record_key from {{ ref('int_identity_records_touched') }}
    where must_rescore
),

-- each rescored record against every member of its blocks; a pair of two rescored records comes twice
pairs as (
    select
        least(touched_block.record_key, other_block.record_key) as left_record_key,
        greatest(touched_block.record_key, other_block.record_key) as right_record_key,
        touched_block.block_type
    from kept_blocks as touched_block
    inner join rescored on touched_block.record_key = rescored.record_key
    inner join kept_blocks as other_block
        on touched_block.block_type = other_block.block_type
            and touched_block.block_value = other_block.block_value
            and touched_block.record_key <> other_block.record_key
),
{% else %}
pairs as (
    select
        left_block.record_key as left_record_key,
        right_block.record_key as right_record_key,
        left_block.block_type
    from kept_blocks as left_block
    inner join kept_blocks as right_block
        on left_block.block_type = right_block.block_type
            and left_block.block_value = right_block.block_value
            and left_block.record_key < right_block.record_key
),
{% endif %}

-- One flag per block type, not dbt.listagg(... order by block_type): an ordered aggregate per pair was three
-- quarters of this model's time (1.5M pairs at medium scale, 2.4 s instead of 0.6).
shared as (
    -- noqa: disable=LT02
    select
        left_record_key,
        right_record_key,
        {%- for block_type in block_types %}
        max(case when block_type = '{{ block_type }}' then 1 else 0 end) as shares_{{ block_type }}
        {{- ',' if not loop.last }}
        {%- endfor %}
    from pairs
    group by left_record_key, right_record_key
    -- noqa: enable=LT02
),

listed as (
    select
        left_record_key,
        right_record_key,
        -- ', a, b': a block type missing from block_types leaves '' and so a null (tested not null)
        nullif({{ dbt.concat(flagged_names) }}, '') as separated_blocks
    from shared
)

select
    left_record_key,
    right_record_key,
    {{ dbt.right('separated_blocks', dbt.length('separated_blocks') ~ ' - 2') }} as blocks
from listed
