{#-
    Incremental identity resolution (docs/identity.md, "Incremental resolution"): a run re-blocks, re-compares and
    re-scores only the pairs of the records int_identity_records_touched marks must_rescore, and re-clusters only
    the components of touched records. These macros hold what several models share: the run's timestamp, the
    blocks of a record, a fingerprint of columns, and the deletes that make room for a run's batch.
-#}

{#- This run's start as a timestamp literal: every row a run writes carries it, so later models find that run's rows. -#}
{% macro identity_run_started() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}


{#- True on a row this run wrote (`column` = identity_run_started()); unit tests override it to `true`. -#}
{% macro identity_written_this_run(column) -%}
    ({{ column }} = {{ identity_run_started() }})
{%- endmacro %}


{#-
    The blocks of the standardized records `records` (a relation or CTE name), one row per (record_key,
    block_type, block_value): same postal code within a country, date of birth, last-name prefix and birth
    year, phone, and first and last name prefixes in alphabetical order (a swapped name lands in the same block).
    Read by int_identity_pairs_blocked (the pairs) and int_identity_records_fingerprinted (which blocks changed).
-#}
{% macro identity_record_blocks(records) -%}
    {%- set prefix_length = var('identity_block_name_prefix_length') %}
    {%- set first_prefix = 'left(first_name_normalized, ' ~ prefix_length ~ ')' %}
    {%- set last_prefix = 'left(last_name_normalized, ' ~ prefix_length ~ ')' %}
    select
        record_key,
        'postal_code' as block_type,
        {{ dbt.concat(["coalesce(country_code, '')", "':'", 'postal_code_normalized']) }} as block_value
    from {{ records }}
    where postal_code_normalized is not null

    union all

    select
        record_key,
        'date_of_birth' as block_type,
        cast(date_of_birth as {{ dbt.type_string() }}) as block_value
    from {{ records }}
    where date_of_birth is not null

    union all

    select
        record_key,
        'last_name_birth_year' as block_type,
        {{ dbt.concat([
            last_prefix, "':'",
            'cast(extract(year from date_of_birth) as ' ~ dbt.type_string() ~ ')',
        ]) }} as block_value
    from {{ records }}
    where last_name_normalized is not null and date_of_birth is not null

    union all

    select
        record_key,
        'phone' as block_type,
        phone_e164 as block_value
    from {{ records }}
    where phone_e164 is not null

    union all

    select
        record_key,
        'name_prefixes' as block_type,
        {{ dbt.concat([
            'least(' ~ first_prefix ~ ', ' ~ last_prefix ~ ')', "':'",
            'greatest(' ~ first_prefix ~ ', ' ~ last_prefix ~ ')',
        ]) }} as block_value
    from {{ records }}
    where first_name_normalized is not null and last_name_normalized is not null
{%- endmacro %}


{#- A hash of the values of `columns` (SQL expressions): equal exactly when every value is equal, nulls included. -#}
{% macro identity_fingerprint(columns) -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- do parts.append("coalesce(cast(" ~ column ~ " as " ~ dbt.type_string() ~ "), '<null>')") -%}
        {%- if not loop.last %}{% do parts.append("'|'") %}{% endif -%}
    {%- endfor -%}
    {{ dbt.hash(dbt.concat(parts)) }}
{%- endmacro %}


{#-
    Pre-hook of the pair models: on an incremental run, delete every stored pair with a side whose pairs this run
    recomputes (int_identity_records_touched.must_rescore); the run then inserts those records' pairs as they now
    are. A pair that no longer exists (a record moved out of a block, or was erased) goes with the delete.
-#}
{% macro identity_delete_rescored_pairs() -%}
    {%- if is_incremental() -%}
    delete from {{ this }}
    where left_record_key in (select record_key from {{ ref('int_identity_records_touched') }} where must_rescore)
        or right_record_key in (select record_key from {{ ref('int_identity_records_touched') }} where must_rescore)
    {%- endif -%}
{%- endmacro %}


{#- Post-hook of the cluster models: the rows of records that no longer exist (deleted at the source, erased) go. -#}
{% macro identity_delete_removed_records() -%}
    {%- if is_incremental() -%}
    delete from {{ this }}
    where record_key in (select record_key from {{ ref('int_identity_records_touched') }} where is_removed)
    {%- endif -%}
{%- endmacro %}


{#- Deletes the saved term frequencies of values no record holds any more (post-hook of
    int_identity_term_frequencies): an erased person's rare name leaves the warehouse with the run after the
    erasure. No current pair compares such a value, so no score moves; a record bringing it back later weighs its
    level's trained u, as any value first seen after the frequencies were saved. -#}
{% macro identity_prune_term_frequencies(records) -%}
    {%- if is_incremental() -%}
    delete from {{ this }}
    where
        {%- for comparison in identity_term_frequency_comparisons() %}
        {%- set column = 'postal_code_normalized' if comparison == 'postal_code' else comparison ~ '_normalized' %}
        {{ 'or ' if not loop.first }}(comparison = '{{ comparison }}' and not exists (
            select 1 from {{ records }} as records where records.{{ column }} = {{ this }}.value
        ))
        {%- endfor %}
    {%- endif -%}
{%- endmacro %}
