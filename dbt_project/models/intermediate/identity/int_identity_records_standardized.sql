-- CRM contacts and Shopify customers with the attributes the match model compares, normalized so that equal
-- values compare equal: names to lower-case letters, address lines, postal codes and cities to letters and
-- digits, dates of birth also as 'yyyymmdd' text (for one-digit-off comparisons). Junk identifiers are
-- nulled here, so that they are never evidence: phones of one repeated digit or too short. phone_is_mobile: the
-- phone is a mobile number by libphonenumber's metadata (seed phone_country_codes), one person's, unlike a
-- landline a household shares. One row per record. Zendesk end users join with a name and a phone (all they
-- carry), so that a helpdesk user known by phone is matched like the others.

{#- constant patterns per calling code when the seed is loaded (macros/identity/identity_phone_plans.sql) -#}
{%- set phone_plans = identity_phone_plans() %}

with

contacts as (
    select * from {{ ref('stg_crm__contacts') }}
),

shop_customers as (
    select * from {{ ref('stg_shop__customers') }}
),

phone_plans as (
    select * from {{ ref('phone_country_codes') }}
),

-- Zendesk end users: a name (when not made from their mailbox) and a phone are all they carry
helpdesk_users as (
    select * from {{ ref('stg_zendesk__users') }}
    where not is_agent
),

people as (
    select
        'crm' as source_system,
        contact_id as source_id,
        first_name,
        last_name,
        coalesce(phone_e164, mobile_phone_e164) as phone_e164,
        address_line,
        city,
        postal_code,
        country_code,
        date_of_birth
    from contacts

    union all

    select
        'shop' as source_system,
        cast(shop_customer_id as {{ dbt.type_string() }}) as source_id,
        first_name,
        last_name,
        phone_e164,
        address_line,
        city,
        postal_code,
        country_code,
        cast(null as date) as date_of_birth
    from shop_customers

    union all

    select
        'helpdesk' as source_system,
        cast(helpdesk_user_id as {{ dbt.type_string() }}) as source_id,
        -- "First Last": the first word is the given name, the rest the family name
        nullif(split_part(person_name, ' ', 1), '') as first_name,
        nullif(trim(substr(person_name, length(split_part(person_name, ' ', 1)) + 1)), '') as last_name,
        phone_e164,
        cast(null as {{ dbt.type_string() }}) as address_line,
        cast(null as {{ dbt.type_string() }}) as city,
        cast(null as {{ dbt.type_string() }}) as postal_code,
        cast(null as {{ dbt.type_string() }}) as country_code,
        cast(null as date) as date_of_birth
    from helpdesk_users
),

normalized as (
    select
        {{ identity_record_key('source_system', 'source_id') }} as record_key,
        source_system,
        {{ identity_normalize_name('first_name') }} as first_name_normalized,
        {{ identity_normalize_name('last_name') }} as last_name_normalized,
        case when not {{ identity_is_junk_phone('phone_e164') }} then phone_e164 end as phone_e164,
        {{ identity_normalize_alphanumeric('address_line') }} as address_normalized,
        {{ identity_normalize_alphanumeric('city') }} as city_normalized,
        {{ identity_normalize_alphanumeric('postal_code') }} as postal_code_normalized,
        country_code,
        date_of_birth
    from people
),

-- libphonenumber's MOBILE: the national number matches the mobile pattern of a region of its calling code in
-- full, and no region's fixed-line pattern. Where the two overlap (FIXED_LINE_OR_MOBILE: the United States and
-- Canada, whose patterns are one) the number may be a household's landline, so it is no mobile here.
phone_types as (
    -- noqa: disable=LT02
    select
        phones.phone_e164,
        {%- if phone_plans is none %}
        max({{ identity_matches_plan_expr('phones.national_number', 'phone_plans.mobile_pattern') }}) as matches_mobile,
        max({{ identity_matches_plan_expr('phones.national_number', 'phone_plans.fixed_line_pattern') }})
            as matches_fixed_line
        {%- else %}
        {%- for kind in ['mobile', 'fixed_line'] %}
        case phones.dial_code
            {%- for plan in phone_plans %}
            when '{{ plan.dial_code }}' then {{ identity_matches_plan('phones.national_number', plan[kind]) }}
            {%- endfor %}
            else 0
        end as matches_{{ kind }}{{ ',' if not loop.last }}
        {%- endfor %}
        {%- endif %}
    from (
        select distinct
            normalized.phone_e164,
            plan_codes.dial_code,
            substr(normalized.phone_e164, {{ dbt.length('plan_codes.dial_code') }} + 2) as national_number
        from normalized
        {#- calling codes are prefix-free (ITU-T E.164): the regions of one calling code share its plan #}
        inner join (select distinct dial_code from phone_plans) as plan_codes
            on normalized.phone_e164 like '+' || plan_codes.dial_code || '%'
    ) as phones
    {%- if phone_plans is none %}
    inner join phone_plans on phones.dial_code = phone_plans.dial_code
    group by phones.phone_e164
    {%- endif %}
    -- noqa: enable=LT02
)

select
    normalized.*,
    {{ identity_house_number('normalized.address_normalized') }} as house_number,
    {{ identity_date_digits('normalized.date_of_birth') }} as date_of_birth_digits,
    coalesce(phone_types.matches_mobile = 1 and phone_types.matches_fixed_line = 0, false) as phone_is_mobile
from normalized
left join phone_types on normalized.phone_e164 = phone_types.phone_e164
