{#-
    Comparison levels of the Fellegi-Sunter match model: each macro returns, for one field of a record pair,
    the name of the first level the pair satisfies, from the strongest agreement to 'different', and 'null'
    when either record lacks the field (no evidence either way). The seed identity_match_parameters holds
    the m and u probabilities of every (comparison, level); the thresholds are vars (dbt_project.yml).
-#}

{#-
    First names: exact / nickname (the seed relation, `is_nickname`) / close / similar (Jaro-Winkler;
    `similarity`: the Jaro-Winkler of the two when the caller has computed it already).
-#}
{% macro identity_first_name_level(left, right, is_nickname, similarity=none) -%}
    {%- set similarity = similarity or identity_jaro_winkler(left, right) -%}
    case
        when {{ left }} is null or {{ right }} is null then 'null'
        when {{ left }} = {{ right }} then 'exact'
        when {{ is_nickname }} then 'nickname'
        when {{ similarity }} >= {{ var('identity_name_close_jaro_winkler') }} then 'close'
        when {{ similarity }} >= {{ var('identity_name_similar_jaro_winkler') }} then 'similar'
        else 'different'
    end
{%- endmacro %}


{#- Last names: exact / close / similar (Jaro-Winkler, or `similarity` when computed already). -#}
{% macro identity_last_name_level(left, right, similarity=none) -%}
    {%- set similarity = similarity or identity_jaro_winkler(left, right) -%}
    case
        when {{ left }} is null or {{ right }} is null then 'null'
        when {{ left }} = {{ right }} then 'exact'
        when {{ similarity }} >= {{ var('identity_name_close_jaro_winkler') }} then 'close'
        when {{ similarity }} >= {{ var('identity_name_similar_jaro_winkler') }} then 'similar'
        else 'different'
    end
{%- endmacro %}


{#-
    Dates of birth, given as dates and as their 'yyyymmdd' digits: exact / day_month_swapped (3 April for
    4 March) / one_digit_off (Damerau-Levenshtein 1 on the digits: one typo or two neighbours swapped) /
    same_year / different.
-#}
{% macro identity_date_of_birth_level(left, right, left_digits, right_digits) -%}
    case
        when {{ left }} is null or {{ right }} is null then 'null'
        when {{ left }} = {{ right }} then 'exact'
        when extract(year from {{ left }}) = extract(year from {{ right }})
            and extract(month from {{ left }}) = extract(day from {{ right }})
            and extract(day from {{ left }}) = extract(month from {{ right }}) then 'day_month_swapped'
        when {{ identity_edit_distance(left_digits, right_digits) }} <= 1 then 'one_digit_off'
        when extract(year from {{ left }}) = extract(year from {{ right }}) then 'same_year'
        else 'different'
    end
{%- endmacro %}


{#- Identifiers typed by hand (phones, postal codes): exact / one_edit (Damerau-Levenshtein 1) / different. -#}
{% macro identity_typed_value_level(left, right) -%}
    case
        when {{ left }} is null or {{ right }} is null then 'null'
        when {{ left }} = {{ right }} then 'exact'
        when {{ identity_edit_distance(left, right) }} <= 1 then 'one_edit'
        else 'different'
    end
{%- endmacro %}


{#-
    Address lines: exact / close (Jaro-Winkler >= var('identity_address_close_jaro_winkler') with the same
    house number: '12 main street' is never '140 main street', however alike the text) / different.
-#}
{% macro identity_address_level(left, right, left_house_number, right_house_number) -%}
    case
        when {{ left }} is null or {{ right }} is null then 'null'
        when {{ left }} = {{ right }} then 'exact'
        when {{ left_house_number }} = {{ right_house_number }}
            and {{ identity_jaro_winkler(left, right) }} >= {{ var('identity_address_close_jaro_winkler') }}
            then 'close'
        else 'different'
    end
{%- endmacro %}


{#- Cities: exact / close (Jaro-Winkler >= var('identity_name_close_jaro_winkler')) / different. -#}
{% macro identity_city_level(left, right) -%}
    case
        when {{ left }} is null or {{ right }} is null then 'null'
        when {{ left }} = {{ right }} then 'exact'
        when {{ identity_jaro_winkler(left, right) }} >= {{ var('identity_name_close_jaro_winkler') }} then 'close'
        else 'different'
    end
{%- endmacro %}


{#- The fields the match model compares, in the order edges and explanations list them. -#}
{% macro identity_comparisons() -%}
    {{ return(['first_name', 'last_name', 'date_of_birth', 'phone', 'address', 'postal_code', 'city']) }}
{%- endmacro %}


{#- The comparisons whose exact level is adjusted by how common the value is (term frequency). -#}
{% macro identity_term_frequency_comparisons() -%}
    {{ return(['first_name', 'last_name', 'postal_code']) }}
{%- endmacro %}


{#-
    The match probability of a match weight in bits: 2^w / (1 + 2^w), computed as 1 / (1 + 2^-w) with w held
    within +-100 bits (beyond, the probability is 0 or 1 to double precision and 2^-w could overflow).
-#}
{% macro identity_probability_of_weight(weight) -%}
    (1.0 / (1.0 + power(2.0, -least(greatest({{ weight }}, -100.0), 100.0))))
{%- endmacro %}
