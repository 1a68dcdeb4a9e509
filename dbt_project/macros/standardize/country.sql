{#
    ISO-3166 alpha-2 code for free-text country input (ISO codes, English names, each country's name in its
    official languages, retired codes such as "UK"), through the country_aliases seed; null when unknown.
    Input and seed are compared as normalized_spelling writes them, so "U.S.A.", "usa" and "U S A" are one.
#}
{% macro country_to_iso2(expr) -%}
    (
        {#- seed columns renamed so that the caller's column names can never be captured -#}
        select country_alias.alias_country_code
        from (
            select alias as alias_spelling, country_code as alias_country_code
            from {{ ref('country_aliases') }}
        ) as country_alias
        where country_alias.alias_spelling = {{ normalized_spelling(expr) }}
    )
{%- endmacro %}
