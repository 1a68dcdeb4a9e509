{#
    Masking for the `bi` schema: a column declared personal data in its model's YAML (`config: {meta: {pii:
    <kind>}}`) is replaced by a salted SHA-256 of its value. Identifiers the erasure ledger knows are hashed
    exactly as privacy/ledger.py hashes them (`subject_hash`: same normalization, same
    sha256(salt || chr(31) || kind || chr(31) || value)), so a `bi` hash equals the ledger's and stays stable
    across tables and runs: BI still counts distinct people and joins on hashes.
#}

{# The kinds hashed like the erasure ledger's subjects (privacy.ledger.SUBJECT_KINDS that columns carry). #}
{% macro ledger_subject_kinds() -%}
    {{ return(['email', 'phone', 'anonymous_id', 'user_id', 'customer_id']) }}
{%- endmacro %}

{#
    The salt of identifier hashes (ERASURE_SALT): profiles.yml sets it as the DuckDB variable `erasure_salt`
    from DBT_ENV_SECRET_ERASURE_SALT, so it is never part of compiled SQL, the manifest or dbt's logs. Fails
    instead of hashing with an empty salt, which anyone could reproduce.
#}
{% macro erasure_salt() -%}
    case
        when coalesce(getvariable('erasure_salt'), '') = ''
            then error('no erasure salt: export DBT_ENV_SECRET_ERASURE_SALT (docs/developing.md), or run dbt through warehouse run / core.dbt_cli, which set it')
        else getvariable('erasure_salt')
    end
{%- endmacro %}

{#
    privacy.ledger.sql_normalized_subject in dbt: the characters Python's str.strip() removes trimmed, emails
    lower-cased, phones reduced to ASCII digits and '+'; blank as null. tests/serving holds the two together.
#}
{% macro ledger_normalized(kind, expr) -%}
    {%- set trimmed -%}
        regexp_replace(cast({{ expr }} as varchar), '^[\t-\r\x{1c}-\x{20}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]+|[\t-\r\x{1c}-\x{20}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]+$', '', 'g')
    {%- endset -%}
    {%- if kind == 'email' -%}
        nullif(lower({{ trimmed }}), '')
    {%- elif kind == 'phone' -%}
        nullif(regexp_replace({{ trimmed }}, '[^0-9+]', '', 'g'), '')
    {%- else -%}
        nullif({{ trimmed }}, '')
    {%- endif -%}
{%- endmacro %}

{#
    The salted hash of `expr` as personal data of `kind`: the ledger's subject hash for the kinds it knows,
    else the value's text trimmed (names, addresses, postal codes, dates of birth, source ids, IPs). Null stays
    null.
#}
{% macro pii_hash(expr, kind) -%}
    {%- if kind in ledger_subject_kinds() -%}
        {%- set value = ledger_normalized(kind, expr) -%}
    {%- else -%}
        {%- set value = "nullif(trim(cast(" ~ expr ~ " as varchar)), '')" -%}
    {%- endif -%}
    sha256(({{ erasure_salt() }}) || chr(31) || '{{ kind }}' || chr(31) || {{ value }})
{%- endmacro %}

{# The `pii` kind a column's YAML declares (`config: {meta: {pii: ...}}`, or a top-level `meta`), else none. #}
{% macro column_pii_kind(column) -%}
    {{ return(column_pii_meta(column).get('pii')) }}
{%- endmacro %}

{#
    The kind of a column `bi` hashes: declared personal data, unless declared kept in clear (`masked: false`: the
    warehouse's pseudonym customer_id, which BI joins on and the serving copy's erasure guard matches).
#}
{% macro column_masked_kind(column) -%}
    {%- set meta = column_pii_meta(column) -%}
    {{ return(meta.get('pii') if meta.get('masked', true) else none) }}
{%- endmacro %}

{% macro column_pii_meta(column) -%}
    {{ return((column.get('config') or {}).get('meta') or column.get('meta') or {}) }}
{%- endmacro %}

{#
    `select` of every column of `relation`, those this model's YAML declares personal data (and not `masked:
    false`) replaced by their hash (DuckDB's `* replace`). Every column of the relation passes, so with the contract enforced a new
    upstream column fails the build until it is declared here, with its `pii` kind if it is personal data.
#}
{% macro select_masked(relation) -%}
    {%- set masked = [] -%}
    {%- for column in model.columns.values() -%}
        {%- set kind = column_masked_kind(column) -%}
        {%- if kind -%}
            {%- do masked.append(pii_hash(adapter.quote(column.name), kind) ~ ' as ' ~ adapter.quote(column.name)) -%}
        {%- endif -%}
    {%- endfor -%}
    select *{% if masked %} replace (
    {{ masked | join(',\n    ') }}
){% endif %}
from {{ relation }}
{%- endmacro %}
