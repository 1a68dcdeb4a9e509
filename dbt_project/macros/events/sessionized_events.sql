{#
    int_events_sessionized, one slice of the anonymous ids at a time.

    DuckDB's window operator holds all of its input in memory, and does not spill: at 90M events the session
    windows needed more than 8GB even over three integer columns, while every other step of the build spills
    within dbt's 2GB. An anonymous id's sessions depend on its own events only, so the ids are cut into
    `slices` by a hash and each slice is sessionized by its own statement: the model's query does slice 0,
    its post-hook (sessionize_other_slices) the others, each replacing its events' rows as dbt's delete+insert
    does. How many: session_slices(), from the events a run sessionizes and var session_slice_events.
#}

{#- The SQL of `slice` (0 .. slices - 1): the rows int_events_sessionized holds for the events of those ids. -#}
{% macro sessionized_events(slice, slices) %}
with

{% if is_incremental() %}
new_events as (
    select anonymous_id, min(occurred_at) as first_new_at
    from {{ ref('int_events_bot_flagged') }}
    where {{ newer_sessionizing_loads() }}
        and anonymous_id is not null
        and {{ session_slice_filter('anonymous_id', slice, slices) }}
    group by anonymous_id
),

restarts as (
    select new_events.anonymous_id, max(earlier.session_started_at) as restart_at
    from new_events
    left join {{ this }} as earlier
        on new_events.anonymous_id = earlier.anonymous_id
        and earlier.occurred_at <= new_events.first_new_at
    group by new_events.anonymous_id
),
{% endif %}

timeline as (
    select events.message_id, events.anonymous_id, events.occurred_at
    from {{ ref('int_events_bot_flagged') }} as events
    {% if is_incremental() %}
    inner join restarts
        on events.anonymous_id = restarts.anonymous_id
        and (restarts.restart_at is null or events.occurred_at >= restarts.restart_at)
    {% endif %}
    where events.non_human_reason is null
        and events.anonymous_id is not null
        and {{ session_slice_filter('events.anonymous_id', slice, slices) }}
),

-- Two window passes, both over one ordering of an id's events: the first finds where a session starts (more
-- than the timeout since the previous event), the second carries the latest start forward. Each start's time
-- and position are the largest so far because the order is by time. (Four windows over three partitionings,
-- numbering the sessions first, sorted the events four times: 24 s instead of 19 at 10M events.)
stepped as (
    select
        message_id,
        anonymous_id,
        occurred_at,
        lag(occurred_at) over (partition by anonymous_id order by occurred_at, message_id) as previous_at,
        row_number() over (partition by anonymous_id order by occurred_at, message_id) as event_number
    from timeline
),

starts as (
    select
        message_id,
        anonymous_id,
        occurred_at,
        event_number,
        previous_at is null
            or {{ dbt.datediff('previous_at', 'occurred_at', 'second') }} > {{ var('session_timeout_minutes') }} * 60
            as starts_session
    from stepped
),

sessions as (
    select
        message_id,
        max(case when starts_session then occurred_at end) over (
            partition by anonymous_id order by occurred_at, message_id rows unbounded preceding
        ) as session_started_at,
        event_number + 1 - max(case when starts_session then event_number end) over (
            partition by anonymous_id order by occurred_at, message_id rows unbounded preceding
        ) as event_number_in_session
    from starts
)

-- session_id is hashed after the join, so the join's hash table holds no 32-character key per event
select
    events.*,
    sessions.session_started_at,
    {{ surrogate_key(['events.anonymous_id', 'sessions.session_started_at']) }} as session_id,
    sessions.event_number_in_session,
    {{ run_started_timestamp() }} as sessionized_at
from {{ ref('int_events_bot_flagged') }} as events
-- only human events have a session: the inner join is the filter
inner join sessions on events.message_id = sessions.message_id
where {{ session_slice_filter('events.anonymous_id', slice, slices) }}
{% endmacro %}

{#-
    The loads an incremental run sessionizes: those newer than the newest one this model held before the run.
    Rows the run already wrote (an earlier slice's, stamped with this run's start) do not count: otherwise the
    first slice would hide the new loads from the others.
-#}
{% macro newer_sessionizing_loads() -%}
    _dlt_load_id > (
        select coalesce(max(_dlt_load_id), '') from {{ this }}
        where sessionized_at < {{ run_started_timestamp() }}
    )
{%- endmacro %}

{#- How many slices this run cuts the anonymous ids into: one per var session_slice_events events it sessionizes,
    counted when the model runs (one when only compiling, in a unit test, or before the events are built). -#}
{% macro session_slices() %}
    {%- if not execute or model.resource_type == 'unit_test' -%}{{ return(1) }}{%- endif -%}
    {%- set events = load_relation(ref('int_events_bot_flagged')) -%}
    {%- if events is none -%}{{ return(1) }}{%- endif -%}
    {%- set counted -%}
        select count(*) from {{ events }}
        where non_human_reason is null and anonymous_id is not null
        {% if is_incremental() %}and {{ newer_sessionizing_loads() }}{% endif %}
    {%- endset -%}
    {%- set sessionized = run_query(counted).columns[0].values()[0] -%}
    {%- set per_slice = var('session_slice_events') | int -%}
    {{ return([1, ((sessionized + per_slice - 1) // per_slice) | int] | max) }}
{% endmacro %}

{#- The post-hook: slices 1 .. n - 1, each replacing its events' rows (staged in a temp table, deleted, inserted);
    in a first build or full refresh, when the table holds only this run's first slice, each is just inserted
    (the slices are disjoint). Nothing, no statement, with one slice. -#}
{% macro sessionize_other_slices() %}
    {%- set slices = session_slices() -%}
    {%- if slices > 1 -%}
        {%- set held_before = run_query(
            "select count(*) from " ~ this ~ " where sessionized_at < " ~ run_started_timestamp()
        ).columns[0].values()[0] -%}
    {%- endif -%}
    {%- for slice in range(1, slices) %}
        {%- if held_before %}
    create or replace temp table int_events_sessionized__slice as {{ sessionized_events(slice, slices) }};
    delete from {{ this }} where message_id in (select message_id from int_events_sessionized__slice);
    insert into {{ this }} by name select * from int_events_sessionized__slice;
        {%- else %}
    insert into {{ this }} by name {{ sessionized_events(slice, slices) }};
        {%- endif %}
    {%- endfor %}
    {%- if slices > 1 and held_before %}
    drop table int_events_sessionized__slice
    {%- endif %}
{% endmacro %}

{#- True for the rows of `column` (an anonymous id) in `slice` of `slices`; every row when there is one slice. -#}
{% macro session_slice_filter(column, slice, slices) -%}
    {%- if slices == 1 -%} true
    {%- else -%} {{ return(adapter.dispatch('session_slice_filter', 'email_warehouse')(column, slice, slices)) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__session_slice_filter(column, slice, slices) -%}
    mod(abs(hash({{ column }})), {{ slices }}) = {{ slice }}
{%- endmacro %}

{% macro duckdb__session_slice_filter(column, slice, slices) -%}
    hash({{ column }}) % {{ slices }} = {{ slice }}
{%- endmacro %}
