{#
    The patterns of seed bot_user_agents as one regular expression (their alternation), read from the seed
    when the model runs. Matching one compiled alternation per user agent is what keeps ~1,500 patterns cheap
    (10,000 distinct browser agents in hundredths of a second): a join on the pattern column compiles a regex
    per (agent, pattern). Quotes are doubled for the SQL literal regex_contains writes. None while dbt only
    parses, or when the seed is not loaded yet (`dbt compile` on a warehouse without seeds).
#}
{% macro bot_user_agent_alternation() -%}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- set seed = ref('bot_user_agents') -%}
    {%- if adapter.get_relation(database=seed.database, schema=seed.schema, identifier=seed.identifier) is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set patterns = run_query("select user_agent_pattern from " ~ seed ~ " order by user_agent_pattern").columns[0].values() -%}
    {{- return(patterns | join('|') | replace("'", "''")) -}}
{%- endmacro %}

{#
    True when `user_agent` matches a pattern of seed bot_user_agents (case-sensitive, as the patterns'
    source, crawler-user-agents, matches them); false for null, and false for every agent when the seed is
    empty. Without the alternation (seed not loaded at compile time) the same test, pattern by pattern.
#}
{% macro is_bot_user_agent(user_agent) -%}
    {%- set alternation = bot_user_agent_alternation() -%}
    {%- if alternation is none -%}
        exists (
            select 1 from (select user_agent_pattern as bot_pattern from {{ ref('bot_user_agents') }}) as bot_patterns
            where {{ regex_contains_expr(user_agent, 'bot_patterns.bot_pattern') }}
        )
    {%- elif alternation -%}
        coalesce({{ regex_contains(user_agent, alternation) }}, false)
    {%- else -%}
        false
    {%- endif -%}
{%- endmacro %}

{#
    True when the IP text `ip` starts with one of the comma-separated `prefixes` ("203.0.113.,10.1."); false
    when none are configured (an empty setting) and for a null ip.
#}
{% macro ip_in_prefixes(ip, prefixes) -%}
    {%- set configured = [] -%}
    {%- for prefix in (prefixes or '').split(',') if prefix.strip() -%}
        {%- do configured.append(prefix.strip() | replace("'", "''")) -%}
    {%- endfor -%}
    {%- if configured -%}
        coalesce(
            {%- for prefix in configured %}
            {{ dbt.position("'" ~ prefix ~ "'", ip) }} = 1{% if not loop.last %} or{% endif %}
            {%- endfor %}
        , false)
    {%- else -%}
        false
    {%- endif -%}
{%- endmacro %}
