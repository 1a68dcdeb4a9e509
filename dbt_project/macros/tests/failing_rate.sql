{#
    Row-level tests of raw and staging data warn on any failing row and fail the build only when more than a
    share of the tested relation's rows fail. Real feeds carry dirt that staging flags with a reason; one odd row
    must not stop the email programme, but a broken export (a tenth of the rows without an id) must.

    A test opts in with `meta: {max_failing_rate: <share or the name of a var holding it>}`; dbt_project.yml
    sets it for every test under models/staging/ (sources included) to the var max_failing_row_rate. The
    rate is failing rows over the rows the test read: the tested model or source, narrowed by its `where` and,
    on an incremental run, to the rows written since its tests last passed (sized_to_run.sql). Tests of a whole
    table rather than of rows (row_count_change, recency) set it to none and keep dbt's rule, as does every test
    without it: dbt's own get_test_sql, through dispatch.
#}
{% macro get_test_sql(main_sql, fail_calc, warn_if, error_if, limit) -%}
    {%- set max_rate = (config.get('meta') or {}).get('max_failing_rate') -%}
    {%- if max_rate is string and max_rate not in ('', 'none') -%}{%- set max_rate = var(max_rate) -%}{%- endif -%}
    {%- set tested = tested_relation() if max_rate not in (none, '', 'none') else none -%}
    {%- if tested is none -%}
        {{ adapter.dispatch('get_test_sql', 'dbt')(main_sql, fail_calc, warn_if, error_if, limit) }}
    {%- else -%}
    select
      failing.failures,
      failing.failures {{ warn_if }} as should_warn,
      failing.failures > {{ max_rate | float }} * tested.tested_rows as should_error
    from (
      select {{ fail_calc }} as failures
      from (
        {{ main_sql }}
        {{ "limit " ~ limit if limit != none }}
      ) dbt_internal_test
    ) as failing
    cross join (select count(*) as tested_rows from {{ get_where_subquery(tested) }}) as tested
    {%- endif -%}
{%- endmacro %}


{#- The model or source a generic test is attached to; none for singular tests. -#}
{% macro tested_relation() -%}
    {%- if model.attached_node and model.attached_node in graph.nodes -%}
        {%- set node = graph.nodes[model.attached_node] -%}
        {{ return(api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias)) }}
    {%- elif model.sources | length == 1 -%}
        {{ return(source(model.sources[0][0], model.sources[0][1])) }}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}
