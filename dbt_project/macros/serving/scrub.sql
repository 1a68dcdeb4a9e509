{#
    Scrubbing for the `bi` schema: text that is not itself personal data but can carry it. A URL a visitor opened
    or came from holds whatever a site or an email put in it (`/account?u=person@example.com`, `?tel=+15550100`,
    `/unsubscribe/person%40example.com`); hashing the whole URL would lose the page, so the contacts in it are
    replaced by placeholders and the rest is kept. A column is scrubbed when its YAML says so
    (`config: {meta: {scrub: contacts}}`); the generic test no_contact_in_text fails on any text column of a `bi`
    model that still holds a contact, declared or not.
#}

{# The one kind of scrubbing there is: emails, phone numbers and identifier parameters (scrub_contacts). #}
{% macro scrub_kinds() -%}
    {{ return(['contacts']) }}
{%- endmacro %}

{#
    Query-parameter keys whose value identifies a person or grants their access, replaced whatever the value
    (matched without regard to case): emails, user names and ids, phones, tokens, passwords, names.
#}
{% macro scrub_identifier_keys() -%}
    {{ return([
        'email', 'e', 'mail', 'u', 'user', 'username', 'user_id', 'userid', 'uid', 'login',
        'phone', 'tel', 'mobile', 'msisdn', 'token', 'access_token', 'id_token', 'auth', 'password', 'pwd',
        'name', 'first_name', 'last_name', 'fname', 'lname',
    ]) }}
{%- endmacro %}

{#
    Query-parameter keys whose long numbers are the shop's own ids, not phones: Shopify's `?variant=` ids are as
    long as an international number, and the page a visitor saw is what BI reads these columns for.
#}
{% macro scrub_numeric_id_keys() -%}
    {{ return(['variant', 'variant_id', 'product_id', 'page', '_pos']) }}
{%- endmacro %}

{#
    `expr` (text, a URL or free text) with contacts replaced; null stays null, text without any stays as it is,
    and scrubbing twice changes nothing more than once:
    - an email, its @ plain or percent-encoded (%40, %2540) -> [email];
    - the value of a query parameter whose key is one of scrub_identifier_keys() -> key=[redacted];
    - an international number, '+' (or %2B) and 7 to 15 digits with spaces, dots, dashes or brackets -> [phone];
    - a parameter value that is such a number without '+' (`?ref=555-010-0199`) -> [phone], unless its key is one
      of scrub_numeric_id_keys().
    Only text holding '@', '=', '+' or a percent-encoded one is searched.
#}
{% macro scrub_contacts(expr) -%}
    {%- set email -%}
        [\pL\pN._%+-]+(?:@|%40|%2540)[\pL\pN-]+(?:\.[\pL\pN-]+)*\.\pL{2,}
    {%- endset -%}
    {%- set digits -%}
        (?:[0-9](?:[ ().-]|%20|%28|%29|%2[dD]){0,2}){6,14}[0-9]
    {%- endset -%}
    {%- set identifier_parameter -%}
        (?i)(^|[?&;#\s])((?:{{ scrub_identifier_keys() | join('|') }})=)[^&#;\s]+
    {%- endset -%}
    {%- set numeric_id_key -%}
        (?i)([?&;#](?:{{ scrub_numeric_id_keys() | join('|') }}))=
    {%- endset -%}
    {#- while bare numbers are replaced, a numeric id's '=' waits as U+E000 (one already there becomes '=') -#}
    {%- set scrubbed -%}
        replace(
            regexp_replace(
                regexp_replace(
                    regexp_replace(
                        regexp_replace(
                            regexp_replace({{ expr }}, '{{ email }}', '[email]', 'g'),
                            '{{ identifier_parameter }}', '\1\2[redacted]', 'g'
                        ),
                        '(?:\+|%2[bB]){{ digits }}([^0-9\pL]|$)', '[phone]\1', 'g'
                    ),
                    '{{ numeric_id_key }}', '\1' || chr(57344), 'g'
                ),
                '=(?:00|\(|%28)?{{ digits }}([&#;]|$)', '=[phone]\1', 'g'
            ),
            chr(57344), '='
        )
    {%- endset -%}
    case when regexp_matches({{ expr }}, '[@=+]|%(?:25)?40|%2[bB]') then {{ scrubbed }} else {{ expr }} end
{%- endmacro %}

{# The scrub kind a column's YAML declares (`config: {meta: {scrub: ...}}`), else none; an unknown one fails. #}
{% macro column_scrub_kind(column) -%}
    {%- set kind = column_pii_meta(column).get('scrub') -%}
    {%- if kind and kind not in scrub_kinds() -%}
        {{ exceptions.raise_compiler_error(
            "column " ~ column.name ~ " declares scrub: " ~ kind ~ "; known: " ~ scrub_kinds() | join(', ')) }}
    {%- endif -%}
    {%- if kind and column_masked_kind(column) -%}
        {{ exceptions.raise_compiler_error(
            "column " ~ column.name ~ " is hashed as pii and cannot be scrubbed too: declare one of them") }}
    {%- endif -%}
    {{ return(kind) }}
{%- endmacro %}

{#
    `select` of every column of `query` (a `bi` model's select_masked), those this model's YAML declares
    `scrub: contacts` passed through scrub_contacts. Without such a column, `query` as it is.
#}
{% macro select_scrubbed(query) -%}
    {%- set scrubbed = [] -%}
    {%- for column in model.columns.values() if column_scrub_kind(column) -%}
        {%- do scrubbed.append(scrub_contacts(adapter.quote(column.name)) ~ ' as ' ~ adapter.quote(column.name)) -%}
    {%- endfor -%}
    {%- if scrubbed -%}
select * replace (
    {{ scrubbed | join(',\n    ') }}
)
from (
{{ query }}
) as masked
    {%- else -%}
{{ query }}
    {%- endif -%}
{%- endmacro %}

{#
    Fails on every text column of `model` holding an email or a phone number in clear, i.e. a value
    scrub_contacts would change: a column carrying contacts that is neither hashed (meta.pii) nor scrubbed
    (meta.scrub). Hashes and scrubbed text pass. One row per failing column, with how many rows fail.
#}
{% test no_contact_in_text(model) %}
{%- set problems = [] -%}
{%- if execute -%}
{%- for column in adapter.get_columns_in_relation(model) if column.is_string() -%}
    {%- set name = adapter.quote(column.name) -%}
    {%- do problems.append(
        "case when " ~ scrub_contacts(name) ~ " is distinct from " ~ name
        ~ " then '" ~ column.name ~ " holds an email or a phone in clear' end") -%}
{%- endfor -%}
{%- endif %}
{{ failing_problems(model, problems) }}
{% endtest %}
