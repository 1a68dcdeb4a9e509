-- The Fellegi-Sunter match model on every compared pair: each field's level weighs log2(m / u) bits with the
-- trained m and u of seed identity_match_parameters ('null' levels weigh 0: no evidence either way); for an
-- exact first name, last name or postal code, u is how often that value occurs among the records (term
-- frequency: 'smith' agreeing is weaker evidence than 'zbigniew'). The match weight adds the prior's log-odds
-- (seed identity_match_training), and match_probability = 2^w / (1 + 2^w). guard names the guard against false
-- merges (macros/identity/identity_guards.sql) that forbids the pair's link, if one holds.
--
-- The frequencies are the saved ones (int_identity_term_frequencies), so a pair's score depends on its two
-- records alone: a run scores only the pairs of the records int_identity_records_touched marks must_rescore
-- (the pre-hook deletes their stored pairs first), and every other pair keeps its score.

{{ config(
    materialized='incremental',
    unique_key=['left_record_key', 'right_record_key'],
    on_schema_change='fail',
    pre_hook="{{ identity_delete_rescored_pairs() }}",
) }}
-- depends_on: {{ ref('int_identity_records_touched') }}

{%- set comparisons = identity_comparisons() %}
{%- set tf_comparisons = identity_term_frequency_comparisons() %}

with

compared as (
    select * from {{ ref('int_identity_pairs_compared') }}
    {%- if is_incremental() %}
    {%- set rescored = "(select record_key from " ~ ref('int_identity_records_touched') ~ " where must_rescore)" %}
    where left_record_key in {{ rescored }} or right_record_key in {{ rescored }}
    {%- endif %}
),

parameters as (
    select * from {{ ref('identity_match_parameters') }}
),

training as (
    select * from {{ ref('identity_match_training') }}
),

term_frequencies as (
    select * from {{ ref('int_identity_term_frequencies') }}
),

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
    left join term_frequencies as {{ comparison }}_frequencies
        on {{ comparison }}_frequencies.comparison = '{{ comparison }}'
            and compared.{{ comparison }}_value = {{ comparison }}_frequencies.value
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
