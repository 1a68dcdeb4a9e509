{#-
    Guards against false merges: a pair the match model scores above the link probability still never links
    when one of these holds. Returns the first guard raised ('conflicting_dates_of_birth', 'household',
    'conflicting_first_names'), null when none. "Personal evidence" is a date of birth that agrees (exact,
    day and month swapped, one digit off): what tells one person from another of the same household.

    - conflicting_dates_of_birth: both dates known and clearly different (not one typo or a swap apart).
    - household: same or close last name and the same address or phone, but first names not equal (nor one
      transposition of the same letters apart, a keying error), and no personal evidence: John and Joan Smith
      of one house, Daniel and Danielle, Felix and Felicitas. Nickname-equivalent names are no exception here:
      the nickname relation holds Louis and Louise, Chris for both Christopher and Christine.
    - conflicting_first_names: first names different (not even similar), and no personal evidence.
    - name_and_place_only: no personal evidence, and neither the phone nor the address line agrees: namesakes
      of one postal code or town are not one person on their names and the place alone.
-#}
{% macro identity_guard(prefix='') -%}
    {%- set personal_evidence = prefix ~ "date_of_birth_level in ('exact', 'day_month_swapped', 'one_digit_off')" -%}
    case
        when {{ prefix }}date_of_birth_level in ('same_year', 'different') then 'conflicting_dates_of_birth'
        when ({{ prefix }}address_level in ('exact', 'close') or {{ prefix }}phone_level in ('exact', 'one_edit'))
            and not ({{ personal_evidence }})
            and (
                ({{ prefix }}last_name_level in ('exact', 'close')
                    and {{ prefix }}first_name_level not in ('exact', 'null')
                    and not {{ prefix }}first_names_transposed)
                -- read swapped, the shared surname may sit in the first-name slot ('Romero Nicholas')
                or ({{ prefix }}names_swapped
                    and {{ prefix }}first_name_level in ('exact', 'close')
                    and {{ prefix }}last_name_level not in ('exact', 'null'))
            )
            then 'household'
        when {{ prefix }}first_name_level = 'different' and not ({{ personal_evidence }})
            then 'conflicting_first_names'
        when not ({{ personal_evidence }})
            and {{ prefix }}phone_level not in ('exact', 'one_edit')
            and {{ prefix }}address_level not in ('exact', 'close')
            then 'name_and_place_only'
    end
{%- endmacro %}


{#- The evidence of a model edge as one line: 'p 0.9993; first_name exact +4.1, last_name close +2.0, ...'. -#}
{% macro identity_model_evidence() -%}
    {%- set parts = ["'p '", "cast(round(match_probability, 4) as " ~ dbt.type_string() ~ ")", "'; '"] -%}
    {%- for comparison in identity_comparisons() -%}
        {%- do parts.extend([
            "'" ~ comparison ~ " '", comparison ~ '_level', "' '",
            "cast(round(weight_" ~ comparison ~ ", 1) as " ~ dbt.type_string() ~ ")",
        ]) -%}
        {%- if not loop.last %}{% do parts.append("', '") %}{% endif -%}
    {%- endfor -%}
    {%- do parts.extend(["case when names_swapped then '; names swapped' else '' end",
        "'; blocks: '", 'blocks']) -%}
    {{ dbt.concat(parts) }}
{%- endmacro %}


{#- True when a cluster's counts exceed a cap per customer (vars identity_max_*_per_customer). -#}
{% macro identity_over_cap(records, emails, dates_of_birth) -%}
    ({{ records }} > {{ var('identity_max_records_per_customer') }}
        or {{ emails }} > {{ var('identity_max_emails_per_customer') }}
        or {{ dates_of_birth }} > {{ var('identity_max_dates_of_birth_per_customer') }})
{%- endmacro %}
