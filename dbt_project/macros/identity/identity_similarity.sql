{#-
    String similarity for identity matching. DuckDB's functions sit behind adapter.dispatch so that another
    adapter only has to provide its own `<adapter>__identity_*` versions; the default refuses to compile
    rather than silently matching nothing.
-#}

{#- Jaro-Winkler similarity in [0, 1]: forgiving to typos near the end of a name, strict at its start. -#}
{% macro identity_jaro_winkler(left, right) -%}
    {{ return(adapter.dispatch('identity_jaro_winkler', 'email_warehouse')(left, right)) }}
{%- endmacro %}

{% macro duckdb__identity_jaro_winkler(left, right) -%}
    jaro_winkler_similarity({{ left }}, {{ right }})
{%- endmacro %}

{% macro default__identity_jaro_winkler(left, right) -%}
    {{ exceptions.raise_compiler_error("identity_jaro_winkler has no implementation for " ~ adapter.type()) }}
{%- endmacro %}


{#- 1 - Damerau-Levenshtein distance / longer length, in [0, 1]: one transposition or typo costs one edit. -#}
{% macro identity_edit_similarity(left, right) -%}
    {{ return(adapter.dispatch('identity_edit_similarity', 'email_warehouse')(left, right)) }}
{%- endmacro %}

{% macro duckdb__identity_edit_similarity(left, right) -%}
    (1.0 - damerau_levenshtein({{ left }}, {{ right }})
        / greatest(length({{ left }}), length({{ right }}), 1))
{%- endmacro %}

{% macro default__identity_edit_similarity(left, right) -%}
    {{ exceptions.raise_compiler_error("identity_edit_similarity has no implementation for " ~ adapter.type()) }}
{%- endmacro %}


{#-
    How alike two people's names are, in [0, 1]: the better of the names read as given and read with first
    and last swapped, each the mean of the two Jaro-Winkler similarities. Arguments are normalized names,
    first names already mapped through the nickname seed; the swapped reading compares a first name with the
    other record's last name mapped the same way (`last_group_*`, default: the last name as is), so "Samuel
    Bernard" and "Bernard Samuel" agree when samuel has a group. Null when neither reading is known.
-#}
{% macro identity_name_similarity(first_left, last_left, first_right, last_right, last_group_left=none,
        last_group_right=none) -%}
    greatest(
        ({{ identity_jaro_winkler(first_left, first_right) }}
            + {{ identity_jaro_winkler(last_left, last_right) }}) / 2.0,
        ({{ identity_jaro_winkler(first_left, last_group_right or last_right) }}
            + {{ identity_jaro_winkler(last_group_left or last_left, first_right) }}) / 2.0
    )
{%- endmacro %}


{#-
    The house number of a normalized address line: all its digits, in order ('12 main street 3' -> '123').
    Computed once per record, not per compared pair: the regex per pair was two thirds of scoring 1.5M pairs.
-#}
{% macro identity_house_number(address) -%}
    {{ regex_replace_all(address, '[^0-9]', '') }}
{%- endmacro %}


{#-
    How alike two normalized address lines are, in [0, 1]: Jaro-Winkler of the lines when their house numbers
    (identity_house_number) are equal, 0 when they differ ('12 main street' is not '140 main street', however
    alike the text), null when either line is missing.
-#}
{% macro identity_address_similarity(left, right, left_house_number, right_house_number) -%}
    case
        when {{ left }} is null or {{ right }} is null then null
        when {{ left_house_number }} <> {{ right_house_number }} then 0.0
        else {{ identity_jaro_winkler(left, right) }}
    end
{%- endmacro %}


{#- 1 when two values are equal, 0 when they differ, null (unknown) when either is missing. -#}
{% macro identity_equality_score(left, right) -%}
    case
        when {{ left }} is null or {{ right }} is null then null
        when {{ left }} = {{ right }} then 1.0
        else 0.0
    end
{%- endmacro %}


{#-
    The weighted mean of similarity columns over those that are not null: `weights` maps each column to its
    weight. Null when every column is null.
-#}
{% macro identity_weighted_mean(weights) -%}
    (
        {%- for column, weight in weights.items() %}
        coalesce({{ column }} * {{ weight }}, 0) {{- ' +' if not loop.last }}
        {%- endfor %}
    ) / nullif(
        {%- for column, weight in weights.items() %}
        case when {{ column }} is null then 0 else {{ weight }} end {{- ' +' if not loop.last }}
        {%- endfor %}
    , 0)
{%- endmacro %}


{#- A similarity as short text for an edge's evidence: '0.93', or '-' when unknown. -#}
{% macro identity_format_score(column) -%}
    coalesce(cast(round({{ column }}, 2) as {{ dbt.type_string() }}), '-')
{%- endmacro %}
