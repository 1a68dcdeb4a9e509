-- Candidate pairs for the match model: only records that share a block are compared, so the cost grows with
-- the block sizes, not with the square of the record count. Blocks: same postal code (within a country),
-- same date of birth, same last-name prefix and birth year, same pair of name prefixes (first and last in
-- either order), same phone. Oversized blocks are skipped. One row per pair (left_record_key < right_record_key).

{%- set prefix_length = var('identity_block_name_prefix_length') %}
{#- every block_type of `blocks` below, in the order `blocks` lists them -#}
{%- set block_types = ['date_of_birth', 'last_name_birth_year', 'name_prefixes', 'phone', 'postal_code'] %}
{%- set flagged_names = [] %}
{%- for block_type in block_types %}
{%- do flagged_names.append("case when shares_" ~ block_type ~ " = 1 then ', " ~ block_type ~ "' else '' end") %}
{%- endfor %}
{%- set first_prefix = 'left(first_name_normalized, ' ~ prefix_length ~ ')' %}
{%- set last_prefix = 'left(last_name_normalized, ' ~ prefix_length ~ ')' %}

with

records as (
    select * from {{ ref('int_identity_records_standardized') }}
),

blocks as (
    select
        record_key,
        'postal_code' as block_type,
        {{ dbt.concat(["coalesce(country_code, '')", "':'", 'postal_code_normalized']) }} as block_value
    from records
    where postal_code_normalized is not null

    union all

    select
        record_key,
        'date_of_birth' as block_type,
        cast(date_of_birth as {{ dbt.type_string() }}) as block_value
    from records
    where date_of_birth is not null

    union all

    select
        record_key,
        'last_name_birth_year' as block_type,
        {{ dbt.concat([
            last_prefix, "':'",
            'cast(extract(year from date_of_birth) as ' ~ dbt.type_string() ~ ')',
        ]) }} as block_value
    from records
    where last_name_normalized is not null and date_of_birth is not null

    union all

    select
        record_key,
        'phone' as block_type,
        phone_e164 as block_value
    from records
    where phone_e164 is not null

    union all

    -- first and last name prefixes in alphabetical order: a swapped name lands in the same block
    select
        record_key,
        'name_prefixes' as block_type,
        {{ dbt.concat([
            'least(' ~ first_prefix ~ ', ' ~ last_prefix ~ ')', "':'",
            'greatest(' ~ first_prefix ~ ', ' ~ last_prefix ~ ')',
        ]) }} as block_value
    from records
    where first_name_normalized is not null and last_name_normalized is not null
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
