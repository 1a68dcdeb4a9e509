{#-
    The comparison levels of the record pairs `pairs` (a relation with left_record_key, right_record_key and
    blocks): one level column per field (identity_comparisons), the values exact levels agree on (for the
    term-frequency adjustment) and names_swapped: a pair whose first and last names read better swapped
    ("Smith John" for "John Smith") is compared swapped. Shared by the blocked pairs the model scores and the
    random pairs its training estimates u from, so both are compared alike. What the guards read besides the
    levels: whether the first names are one keying error apart (not two given names a list knows), how many
    years the dates of birth lie apart, and whether the two records share one mobile number.
-#}
{% macro identity_compare_pairs(pairs) -%}
with

pairs as (
    select * from {{ pairs }}
),

records as (
    select * from {{ ref('int_identity_records_standardized') }}
),

nicknames as (
    select * from {{ ref('identity_nicknames') }}
),

given_names as (
    select * from {{ ref('identity_given_names') }}
),

joined as (
    select
        pairs.left_record_key,
        pairs.right_record_key,
        pairs.blocks,
        left_record.first_name_normalized as left_first_name,
        left_record.last_name_normalized as left_last_name,
        right_record.first_name_normalized as right_given_first_name,
        right_record.last_name_normalized as right_given_last_name,
        -- the four name similarities, computed once: as given, and swapped
        {{ identity_jaro_winkler('left_record.first_name_normalized', 'right_record.first_name_normalized') }}
            as first_name_similarity_as_given,
        {{ identity_jaro_winkler('left_record.last_name_normalized', 'right_record.last_name_normalized') }}
            as last_name_similarity_as_given,
        {{ identity_jaro_winkler('left_record.first_name_normalized', 'right_record.last_name_normalized') }}
            as first_name_similarity_swapped,
        {{ identity_jaro_winkler('left_record.last_name_normalized', 'right_record.first_name_normalized') }}
            as last_name_similarity_swapped,
        left_record.date_of_birth as left_date_of_birth,
        right_record.date_of_birth as right_date_of_birth,
        left_record.date_of_birth_digits as left_date_of_birth_digits,
        right_record.date_of_birth_digits as right_date_of_birth_digits,
        left_record.phone_e164 as left_phone,
        right_record.phone_e164 as right_phone,
        left_record.phone_is_mobile as left_phone_is_mobile,
        left_record.address_normalized as left_address,
        right_record.address_normalized as right_address,
        left_record.house_number as left_house_number,
        right_record.house_number as right_house_number,
        left_record.postal_code_normalized as left_postal_code,
        right_record.postal_code_normalized as right_postal_code,
        left_record.city_normalized as left_city,
        right_record.city_normalized as right_city
    from pairs
    inner join records as left_record on pairs.left_record_key = left_record.record_key
    inner join records as right_record on pairs.right_record_key = right_record.record_key
),

swapped as (
    select
        *,
        -- a name that agrees as given is never swapped away ('alice riding' and 'alice exclel': a mistyped
        -- surname, not names in the wrong fields)
        coalesce(
            first_name_similarity_swapped + last_name_similarity_swapped
                > first_name_similarity_as_given + last_name_similarity_as_given
                and first_name_similarity_as_given < 1 and last_name_similarity_as_given < 1,
            false
        ) as names_swapped
    from joined
),

oriented as (
    select
        *,
        case when names_swapped then right_given_last_name else right_given_first_name end as right_first_name,
        case when names_swapped then right_given_first_name else right_given_last_name end as right_last_name,
        case when names_swapped then first_name_similarity_swapped else first_name_similarity_as_given end
            as first_name_similarity,
        case when names_swapped then last_name_similarity_swapped else last_name_similarity_as_given end
            as last_name_similarity
    from swapped
)

select
    oriented.left_record_key,
    oriented.right_record_key,
    oriented.blocks,
    oriented.names_swapped,
    -- first names one keying error apart (Damerau-Levenshtein 1: 'danlel', 'caitlni', 'matild') where at least
    -- one is a given name no list knows (seed identity_given_names) are a typo, which the weights price; two
    -- known names are two names however alike (John and Joan, Kristian and Kristina): read by the household guard
    coalesce(
        oriented.first_name_similarity < 1
            and {{ identity_edit_distance('oriented.left_first_name', 'oriented.right_first_name') }} = 1
            and (left_first_given.first_name is null or right_first_given.first_name is null),
        false
    ) as first_names_keying_error,
    -- the same of the last names: read swapped, the given names sit in the last-name slot ('Musolino Maxin',
    -- 'Maxni Musolino')
    coalesce(
        oriented.last_name_similarity < 1
            and {{ identity_edit_distance('oriented.left_last_name', 'oriented.right_last_name') }} = 1
            and (left_last_given.first_name is null or right_last_given.first_name is null),
        false
    ) as last_names_keying_error,
    -- a generation apart, two dates of birth are a parent and a child; closer, a replaced or mistyped date
    abs(extract(year from oriented.left_date_of_birth) - extract(year from oriented.right_date_of_birth))
        as date_of_birth_years_apart,
    {{ identity_first_name_level('oriented.left_first_name', 'oriented.right_first_name',
        'nicknames.first_name is not null', 'oriented.first_name_similarity') }} as first_name_level,
    {{ identity_last_name_level('oriented.left_last_name', 'oriented.right_last_name',
        'oriented.last_name_similarity') }} as last_name_level,
    -- one mobile number on both: a mobile is one person's (libphonenumber's type), a landline a household's
    coalesce(oriented.left_phone = oriented.right_phone and oriented.left_phone_is_mobile, false)
        as mobile_phone_shared,
    {{ identity_date_of_birth_level('oriented.left_date_of_birth', 'oriented.right_date_of_birth',
        'oriented.left_date_of_birth_digits', 'oriented.right_date_of_birth_digits') }} as date_of_birth_level,
    {{ identity_typed_value_level('oriented.left_phone', 'oriented.right_phone') }} as phone_level,
    {{ identity_address_level('oriented.left_address', 'oriented.right_address',
        'oriented.left_house_number', 'oriented.right_house_number') }} as address_level,
    {{ identity_typed_value_level('oriented.left_postal_code', 'oriented.right_postal_code') }}
        as postal_code_level,
    -- a postal code lies in one city: where the postal codes agree, the city tells nothing more
    case
        when oriented.left_postal_code = oriented.right_postal_code then 'null'
        else {{ identity_city_level('oriented.left_city', 'oriented.right_city') }}
    end as city_level,
    -- the values an exact match agrees on, for the term-frequency adjustment
    case when oriented.left_first_name = oriented.right_first_name then oriented.left_first_name end
        as first_name_value,
    case when oriented.left_last_name = oriented.right_last_name then oriented.left_last_name end
        as last_name_value,
    case when oriented.left_postal_code = oriented.right_postal_code then oriented.left_postal_code end
        as postal_code_value
from oriented
left join nicknames
    on oriented.left_first_name = nicknames.first_name
    and oriented.right_first_name = nicknames.equivalent_first_name
left join given_names as left_first_given on oriented.left_first_name = left_first_given.first_name
left join given_names as right_first_given on oriented.right_first_name = right_first_given.first_name
left join given_names as left_last_given on oriented.left_last_name = left_last_given.first_name
left join given_names as right_last_given on oriented.right_last_name = right_last_given.first_name
{%- endmacro %}
