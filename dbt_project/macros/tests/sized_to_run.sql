{#
    Tests sized to the run (docs/quality.md). On an incremental run (the Dagster automation's runs: the variable
    WAREHOUSE_TESTS_SCOPE=rows_written, read only while tests execute, so it never makes dbt parse again), a
    data test of an incremental model reads the rows written since that model's tests last all passed, not
    the whole table. With WAREHOUSE_TESTS_SCOPE=whole_tables (the daily full build, `warehouse run`) or unset (a
    person's `dbt build`), and with --full-refresh, every test reads whole tables.

    "Since its tests last all passed" is a per-model watermark in the warehouse (dbt_tests.tested_through): the
    newest run stamp of the model (the first column of var run_stamp_columns its YAML documents: dbt_updated_at,
    or the stamp an older model writes) when every test of it passed in one invocation, whichever scope. A test that fails
    therefore fails again on the next incremental run, until the rows are fixed: only a pass moves it on.

    What a test reads depends on its kind (vars sized_tests_of_rows, sized_tests_of_keys):
    - row tests (not_null, accepted_values, relationships from the child...): the rows written since;
    - key tests (unique, unique_combination, identity_determines): every row sharing a key with those, so a new
      row duplicating an old one still fails;
    - any other test (row_count_change, recency, a new custom one): the whole table.
#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- set sized = rows_this_run_tests() -%}
    {%- set conditions = [] -%}
    {%- if where %}{% do conditions.append('(' ~ where ~ ')') %}{% endif -%}
    {%- if sized is not none %}{% do conditions.append('(' ~ sized ~ ')') %}{% endif -%}
    {%- if conditions -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ conditions | join(' and ') }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}


{#- The predicate over the tested model choosing the rows this test reads on this run; none for every row. -#}
{% macro rows_this_run_tests() -%}
    {%- if not execute or flags.FULL_REFRESH or env_var('WAREHOUSE_TESTS_SCOPE', 'whole_tables') != 'rows_written' -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set test = model.test_metadata -%}
    {%- if not test or not model.attached_node or model.attached_node not in graph.nodes -%}{{ return(none) }}{%- endif -%}
    {%- set node = graph.nodes[model.attached_node] -%}
    {%- set key_argument = var('sized_tests_of_keys').get(test.name) -%}
    {%- if node.config.materialized != 'incremental'
        or (test.name not in var('sized_tests_of_rows') and key_argument is none) -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set relation = api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias) -%}
    {%- set stamp = run_stamp_column(node) -%}
    {%- set through = tested_through(node.unique_id, stamp) if stamp else none -%}
    {%- if through is none -%}{{ return(none) }}{%- endif -%}
    {%- set written = adapter.quote(stamp) ~ " > '" ~ through ~ "'" -%}
    {%- if key_argument is none -%}{{ return(written) }}{%- endif -%}
    {%- set keys = test.kwargs[key_argument] -%}
    {%- set keys = [keys] if keys is string else keys -%}
    {%- set key = '(' ~ keys | join(', ') ~ ')' -%}
    {{- return(key ~ ' in (select ' ~ key ~ ' from ' ~ relation ~ ' where ' ~ written ~ ')') -}}
{%- endmacro %}


{#- The column stamping the rows a run of `node` wrote: its meta run_stamp_column, else the first of var
    run_stamp_columns its YAML documents (none without one: its tests read the whole table). Read from the
    manifest, not the warehouse: a query per test cost more than some of the tests it narrows. -#}
{% macro run_stamp_column(node) -%}
    {%- set chosen = (node.config.meta or {}).get('run_stamp_column') -%}
    {%- if chosen -%}{{ return(chosen) }}{%- endif -%}
    {%- set documented = node.columns.keys() | map('lower') | list -%}
    {%- for column in var('run_stamp_columns') if column | lower in documented -%}{{ return(column) }}{%- endfor -%}
    {{- return(none) -}}
{%- endmacro %}


{#- The watermark table, in the catalog the target builds (dev's own file for the dev target). -#}
{% macro tested_through_relation() -%}
    {{- return(api.Relation.create(
        database='dev' if target.name == 'dev' else target.database, schema='dbt_tests', identifier='tested_through'
    )) -}}
{%- endmacro %}


{#- The newest `stamp` of `unique_id` when its tests last all passed, as text; none if never recorded. The
    table exists: the on-run-start hook creates it. -#}
{% macro tested_through(unique_id, stamp) -%}
    {%- set state = tested_through_relation() -%}
    {%- set found = run_query(
        "select tested_through from " ~ state ~ " where model = '" ~ unique_id ~ "' and stamp_column = '"
        ~ stamp ~ "'"
    ) -%}
    {{- return(found.columns[0].values()[0] if found.rows | length else none) -}}
{%- endmacro %}


{#- on-run-start: the watermark table exists before any test looks it up. -#}
{% macro create_tested_through() -%}
    {%- set state = tested_through_relation() -%}
    create schema if not exists {{ state.include(identifier=false) }};
    create table if not exists {{ state }} (
        model varchar, stamp_column varchar, tested_through varchar, recorded_at timestamp
    );
{%- endmacro %}


{#-
    on-run-end: for every incremental model whose every test ran in this invocation and passed (or warned),
    the newest stamp it holds becomes its watermark. A model with a failed, errored or skipped test, or not all
    its tests selected, keeps the old one, so its unpassed rows are tested again next run.
-#}
{% macro record_tested_through(results) -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set tests_of = {} -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'test' and node.attached_node -%}
        {%- do tests_of.update({node.attached_node: tests_of.get(node.attached_node, 0) + 1}) -%}
    {%- endfor -%}
    {%- set passed = {} -%}
    {%- set failed = [] -%}
    {%- for result in results if result.node.resource_type == 'test' and result.node.attached_node -%}
        {%- set attached = result.node.attached_node -%}
        {%- if result.status in ('pass', 'warn') -%}
            {%- do passed.update({attached: passed.get(attached, 0) + 1}) -%}
        {%- else -%}
            {%- do failed.append(attached) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set state = tested_through_relation() -%}
    {%- set writes = [] -%}
    {%- for unique_id, count in passed.items()
        if unique_id not in failed and count == tests_of.get(unique_id)
        and graph.nodes[unique_id].config.materialized == 'incremental' -%}
        {%- set node = graph.nodes[unique_id] -%}
        {%- set relation = api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias) -%}
        {%- set stamp = run_stamp_column(node) -%}
        {%- if stamp -%}
            {%- set previous = tested_through(unique_id, stamp) -%}
            {#- only rows after the old watermark: DuckDB skips the row groups before it by their min/max -#}
            {%- set newest = run_query(
                "select cast(max(" ~ adapter.quote(stamp) ~ ") as varchar) from " ~ relation
                ~ (" where " ~ adapter.quote(stamp) ~ " > '" ~ previous ~ "'" if previous is not none else "")
            ).columns[0].values()[0] -%}
            {%- if newest is not none -%}
                {%- do writes.append("delete from " ~ state ~ " where model = '" ~ unique_id ~ "'") -%}
                {%- do writes.append(
                    "insert into " ~ state ~ " values ('" ~ unique_id ~ "', '" ~ stamp ~ "', '" ~ newest ~ "', "
                    ~ run_started_timestamp() ~ ")"
                ) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {#- run here and committed: the reads above opened a transaction on the hook's connection, which dbt rolls
        back after an on-run-end hook's own SQL -#}
    {%- if writes -%}
        {%- call statement('record_tested_through', auto_begin=True) -%}{{ writes | join(';\n') }}{%- endcall -%}
        {%- do adapter.commit() -%}
    {%- endif -%}
    {{- return('') -}}
{%- endmacro %}
