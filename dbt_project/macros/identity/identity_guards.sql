{#-
    Guards against false merges: a pair the match model scores above the link probability still never links
    when one of these holds. Returns the first guard raised, null when none. "Personal evidence" is what tells
    one person from another of the same household: a date of birth that agrees (exact, day and month swapped,
    one digit off), or one mobile number on both records (mobile_phone_shared: a mobile is carried by one
    person; a landline, or a North American number that may be either, is the household's).

    - conflicting_dates_of_birth: both dates known, clearly different (not one typo or a swap apart) and at
      least var('identity_generation_years') years apart: a parent and a child (John Smith senior and junior
      share name, address and landline), unless they share one mobile number: father and son do not carry one
      phone, so the date is a replaced one (the household guard still holds when their first names differ).
      Dates closer than a generation are no proof of two people (a replaced or mistyped date looks the same):
      the date's weight counts against the pair, the other guards still apply.
    - household: same or close last name and the same address or phone, first names not equal, and no date of
      birth that agrees: John and Joan Smith of one house, Daniel and Danielle. A shared mobile is no exception:
      a couple may share one (the demo generator's households do), and where it released this guard the
      generator's precision fell to 0.996 (docs/identity.md). Nickname-equivalent names are no exception
      (the nickname relation holds Louis and Louise, Chris for both Christopher and Christine); first
      names one keying error apart where one is a name no list knows ('danlel' for 'daniel',
      first_names_keying_error) and no date of birth to compare are: a typo, not a housemate, which the match
      weights price. With dates of birth that differ, they are two people of look-alike names (Giulia and
      Giulio, names the US Census lists do not hold). Read swapped, the given names sit in the last-name slot:
      the same holds of last_names_keying_error.
    - conflicting_first_names: first names different (not even similar), and no personal evidence.
    - name_and_place_only: no personal evidence, and neither the phone nor the address line agrees (a shared
      mobile never meets this guard: its phone agrees).
-#}
{% macro identity_guard(prefix='') -%}
    {%- set date_of_birth_agrees = prefix ~ "date_of_birth_level in ('exact', 'day_month_swapped', 'one_digit_off')" -%}
    {%- set personal_evidence = "(" ~ date_of_birth_agrees ~ " or " ~ prefix ~ "mobile_phone_shared)" -%}
    case
        when {{ prefix }}date_of_birth_level in ('same_year', 'different')
            and {{ prefix }}date_of_birth_years_apart >= {{ var('identity_generation_years') }}
            and not {{ prefix }}mobile_phone_shared
            then 'conflicting_dates_of_birth'
        when ({{ prefix }}address_level in ('exact', 'close') or {{ prefix }}phone_level in ('exact', 'one_edit'))
            -- a shared mobile is no evidence here: a household may share one (measured: docs/identity.md)
            and not ({{ date_of_birth_agrees }})
            and (
                ({{ prefix }}last_name_level in ('exact', 'close')
                    and {{ prefix }}first_name_level not in ('exact', 'null')
                    -- a typo of a name no list knows, unless the dates of birth differ too (Giulia, Giulio)
                    and not ({{ prefix }}first_names_keying_error and {{ prefix }}date_of_birth_level = 'null'))
                -- read swapped, the shared surname may sit in the first-name slot ('Romero Nicholas')
                or ({{ prefix }}names_swapped
                    and {{ prefix }}first_name_level in ('exact', 'close')
                    and {{ prefix }}last_name_level not in ('exact', 'null')
                    and not ({{ prefix }}last_names_keying_error and {{ prefix }}date_of_birth_level = 'null'))
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
