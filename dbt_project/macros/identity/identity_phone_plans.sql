{#
    libphonenumber's mobile and fixed-line number patterns of seed phone_country_codes, one entry per calling
    code: {dial_code, mobile, fixed_line}, each the alternation of its regions' patterns (a number of +1 is a
    mobile when any NANP region's mobile pattern matches it), quotes doubled for a SQL literal, '' where no
    region has one. Read from the seed when the model runs, so that each pattern is a constant DuckDB compiles
    once: a join on the pattern columns compiles a regex per (phone, region) row, two thirds of building
    int_identity_records_standardized at 100k customers. None while dbt only parses, in unit tests (whose
    seed rows are fixtures, not the table) and before the seed is loaded: callers then join on the columns.
#}
{% macro identity_phone_plans() -%}
    {%- if not execute or model.resource_type == 'unit_test' -%}{{ return(none) }}{%- endif -%}
    {%- set seed = ref('phone_country_codes') -%}
    {%- if adapter.get_relation(database=seed.database, schema=seed.schema, identifier=seed.identifier) is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set rows = run_query(
        "select dial_code, mobile_pattern, fixed_line_pattern from " ~ seed ~ " order by dial_code, country_code"
    ).rows -%}
    {%- set plans = {} -%}
    {%- for dial_code, mobile, fixed_line in rows -%}
        {%- if dial_code not in plans -%}{%- do plans.update({dial_code: {'mobile': [], 'fixed_line': []}}) -%}{%- endif -%}
        {%- if mobile -%}{%- do plans[dial_code]['mobile'].append('(?:' ~ mobile ~ ')') -%}{%- endif -%}
        {%- if fixed_line -%}{%- do plans[dial_code]['fixed_line'].append('(?:' ~ fixed_line ~ ')') -%}{%- endif -%}
    {%- endfor -%}
    {%- set result = [] -%}
    {%- for dial_code in plans | sort -%}
        {%- do result.append({
            'dial_code': dial_code,
            'mobile': plans[dial_code]['mobile'] | unique | join('|') | replace("'", "''"),
            'fixed_line': plans[dial_code]['fixed_line'] | unique | join('|') | replace("'", "''"),
        }) -%}
    {%- endfor -%}
    {{ return(result) }}
{%- endmacro %}


{#- 1 when `national_number` matches `alternation` in full, 0 otherwise (and for an empty alternation). -#}
{% macro identity_matches_plan(national_number, alternation) -%}
    {%- if alternation -%}
        case when {{ regex_contains(national_number, '^(?:' ~ alternation ~ ')$') }} then 1 else 0 end
    {%- else -%}
        0
    {%- endif -%}
{%- endmacro %}


{#- The same test against a pattern column (one regex compiled per row): for unit tests and unloaded seeds. -#}
{% macro identity_matches_plan_expr(national_number, pattern_column) -%}
    case when {{ regex_contains_expr(national_number, "'^(?:' || " ~ pattern_column ~ " || ')$'") }} then 1 else 0 end
{%- endmacro %}
