{#
    CDC: the rank of a record version among versions of the same key, newest first (1 = current).
    dlt merges on the key already; this keeps staging correct if a source is ever appended instead.
#}
{% macro version_rank_newest_first(key, updated_at) -%}
    row_number() over (partition by {{ key }} order by {{ updated_at }} desc nulls last, _dlt_load_id desc)
{%- endmacro %}

{# When dlt loaded the row (its load id is epoch seconds). #}
{% macro dlt_loaded_at() -%}
    {{ to_utc_timestamp(epoch_seconds_to_timestamp('_dlt_load_id')) }}
{%- endmacro %}

{#
    The start of this dbt invocation as a timestamp literal, to the microsecond: stamps the rows an incremental
    model (re)wrote, so that the models downstream pick up exactly those (a later run always stamps later).
#}
{% macro run_started_timestamp() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#
    Incremental filter on dlt loads: the rows of loads newer than the newest this model holds; every row when it
    holds none (a first build over no events, or everything erased), never none. dlt's load ids only grow.
#}
{% macro newer_dlt_loads_than_this() -%}
    _dlt_load_id > (select coalesce(max(_dlt_load_id), '') from {{ this }})
{%- endmacro %}

{#
    The newest run stamp (a column filled by run_started_timestamp()) this incremental model holds, as a scalar
    subquery: the rows upstream stamped later are the ones it has not picked up yet. 1900-01-01 when it holds
    none, so that an empty table picks up everything.
#}
{% macro newest_stamp_in_this(column) -%}
    (select coalesce(max({{ column }}), cast('1900-01-01' as {{ dbt.type_timestamp() }})) from {{ this }})
{%- endmacro %}
