-- The Fellegi-Sunter match model on every compared pair: each field's level weighs log2(m / u) bits with the
-- trained m and u of seed identity_match_parameters ('null' levels weigh 0: no evidence either way); for an
-- exact first name, last name or postal code, u is how often that value occurs among the records (term
-- frequency: 'smith' agreeing is weaker evidence than 'zbigniew'). The match weight adds the prior's log-odds
-- (seed identity_match_training), and match_probability = 2^w / (1 + 2^w). guard names the guard against false
-- merges (macros/identity/identity_guards.sql) that forbids the pair's link, if one holds.

{%- set comparisons = identity_comparisons() %}
{%- set tf_comparisons = identity_term_frequency_comparisons() %}

with

compared as (
    select * from {{ ref('int_identity_pairs_compared') }}
),

parameters as (
    select * from {{ ref('identity_match_parameters') }}
),

training as (
    select * from {{ ref('identity_match_training') }}
),

records as (
    select * from {{ ref('int_identity_records_standardized') }}
),
{% for comparison in tf_comparisons %}
{%- set column = 'postal_code_normalized' if comparison == 'postal_code' else comparison ~ '_normalized' %}
{{ comparison }}_frequencies as (
    select
        {{ column }} as value,
        cast(count(*) as double) / sum(count(*)) over () as term_frequency
    from records
    where {{ column }} is not null
    group by {{ column }}
),
{% endfor %}
weighted as (
    -- noqa: disable=LT02
    select
        compared.*,
        {%- for comparison in comparisons %}
        {%- set u = comparison ~ '_parameters.u_probability' %}
        {%- if comparison in tf_comparisons %}
            {%- set u = 'case when ' ~ comparison ~ '_frequencies.term_frequency is null then ' ~ u
                ~ ' else greatest(' ~ comparison ~ '_frequencies.term_frequency, '
                ~ var('identity_term_frequency_minimum_u') ~ ') end' %}
        {%- endif %}
        coalesce({{ identity_log2(comparison ~ '_parameters.m_probability / ' ~ u) }}, 0.0)
            as weight_{{ comparison }}
        {{- ',' if not loop.last }}
        {%- endfor %}
    from compared
    {%- for comparison in comparisons %}
    left join parameters as {{ comparison }}_parameters
        on {{ comparison }}_parameters.comparison = '{{ comparison }}'
            and compared.{{ comparison }}_level = {{ comparison }}_parameters.level
    {%- if comparison in tf_comparisons %}
    left join {{ comparison }}_frequencies
        on compared.{{ comparison }}_value = {{ comparison }}_frequencies.value
    {%- endif %}
    {%- endfor %}
),

summed as (
    select
        weighted.*,
        {{ identity_log2('training.prior_match_probability / (1 - training.prior_match_probability)') }}
        {%- for comparison in comparisons %}
            + weight_{{ comparison }}
        {%- endfor %} as match_weight
    from weighted
    cross join training
    -- noqa: enable=LT02
)

select
    *,
    {{ identity_probability_of_weight('match_weight') }} as match_probability,
    -- the guard against false merges that forbids this pair's link whatever its probability, if any
    {{ identity_guard() }} as guard
from summed
