{#
    ISO-3166 alpha-2 code for free-text country input (codes, ISO3, English or local names, "U.S.A.", "UK",
    ...) through the country_aliases seed; null when unknown.
#}
{% macro country_to_iso2(expr) -%}
    (
        {#- seed columns renamed so that the caller's column names can never be captured -#}
        select country_alias.alias_country_code
        from (
            select alias as alias_spelling, country_code as alias_country_code
            from {{ ref('country_aliases') }}
        ) as country_alias
        where country_alias.alias_spelling = lower({{ clean_text(expr) }})
    )
{%- endmacro %}
