{# Free text as compared everywhere: leading/trailing whitespace of any kind (tabs too) removed, '' as null. #}
{% macro clean_text(expr) -%}
    nullif({{ regex_replace_all(expr, '^[[:space:]]+|[[:space:]]+$', '') }}, '')
{%- endmacro %}

{#
    A spelling as reference seeds store it: accents and case folded away and everything but letters and digits
    dropped ("U.S.A." -> 'usa', "Côte d'Ivoire" -> 'cotedivoire'); null when nothing is left. The seeds'
    generator (scripts/reference/seeds.py, normalized_spelling) does the same in Python.
#}
{% macro normalized_spelling(expr) -%}
    nullif({{ regex_replace_all('lower(' ~ fold_accents(expr) ~ ')', '[^\\p{L}\\p{N}]', '') }}, '')
{%- endmacro %}
