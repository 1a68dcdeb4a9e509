{#
    What int_event_senders_summarized held before this run, as SQL literals read before the model runs (and
    before its pre-hook): the newest dlt load and run stamp, whether products changed category since, and how
    many devices it must sum again (devices_to_sum_again). A filter on a constant is pushed into DuckDB's scan
    of the events, which then reads only the row groups of newer loads: with a scalar subquery it read every
    column of every event.
#}
{% macro event_senders_watermarks() -%}
    {%- set held = {
        'load': "''", 'stamp': "cast('1900-01-01' as " ~ dbt.type_timestamp() ~ ")", 'recategorized': 0, 'devices': 0,
    } -%}
    {%- if execute and is_incremental() -%}
        {%- set newest = run_query(
            "select max(last_dlt_load_id), cast(max(dbt_updated_at) as " ~ dbt.type_string() ~ ") from " ~ this
        ).rows[0] -%}
        {%- if newest[0] is not none -%}
            {%- do held.update({
                'load': "'" ~ newest[0] ~ "'",
                'stamp': "cast('" ~ newest[1] ~ "' as " ~ dbt.type_timestamp() ~ ")",
            }) -%}
        {%- endif -%}
        {%- set recategorized = run_query("select count(*) from (" ~ products_recategorized() ~ ") as changed") -%}
        {%- do held.update({'recategorized': recategorized.rows[0][0]}) -%}
        {%- set devices = run_query("select count(*) from (" ~ devices_to_sum_again(held) ~ ") as devices") -%}
        {%- do held.update({'devices': devices.rows[0][0]}) -%}
    {%- endif -%}
    {{ return(held) }}
{%- endmacro %}

{#
    The anonymous ids int_event_senders_summarized sums again from their events (`watermarks`:
    event_senders_watermarks()): those whose summed events int_events_bot_flagged has judged non-human since (a
    burst turns a device's earlier events into bot traffic; bot events of newer loads never reach the sessions),
    and those with summed events of a product whose category changed. No sum can take events back out. SQL
    selecting anonymous_id, no nulls.
#}
{% macro devices_to_sum_again(watermarks) -%}
    select anonymous_id from {{ ref('int_events_bot_flagged') }}
    where non_human_reason is not null
        and anonymous_id is not null
        and judged_at > {{ watermarks.stamp }}
        and _dlt_load_id <= {{ watermarks.load }}
    {%- if watermarks.recategorized > 0 %}
    union
    select anonymous_id from {{ ref('int_events_sessionized') }}
    where _dlt_load_id <= {{ watermarks.load }}
        and product_id in ({{ products_recategorized() }})
    {%- endif %}
{%- endmacro %}

{#
    The categories of products as int_event_senders_summarized last summed them: a table its post-hook writes
    (products_as_summed()), so that the next run finds the products whose category changed since.
#}
{% macro products_as_summed() -%}
    {%- set identifier = this.identifier ~ '__products' -%}
    {{ return(api.Relation.create(database=this.database, schema=this.schema, identifier=identifier)) }}
{%- endmacro %}

{% macro save_products_as_summed() -%}
    create or replace table {{ products_as_summed() }} as
    select product_id, product_category from {{ ref('stg_shop__products') }}
{%- endmacro %}

{#- SQL of the product ids whose category changed (or that came or went) since the last run; every product when
    no run saved them. -#}
{% macro products_recategorized() -%}
    {%- if load_relation(products_as_summed()) is none -%}
    select product_id from {{ ref('stg_shop__products') }}
    {%- else -%}
    select coalesce(products.product_id, summed.product_id) as product_id
    from {{ ref('stg_shop__products') }} as products
    full outer join {{ products_as_summed() }} as summed on products.product_id = summed.product_id
    where products.product_category is distinct from summed.product_category
        or products.product_id is null
        or summed.product_id is null
    {%- endif -%}
{%- endmacro %}

{#
    Every row of int_event_senders_summarized with the person behind its sender, looked up now, as
    int_events_attributed attributes an event: the userId's customer when customer_identity_map knows it, else
    the anonymousId's. Senders of nobody known are left out.
#}
{% macro event_senders_with_customer() -%}
    select
        coalesce(by_user.customer_id, by_device.customer_id) as customer_id,
        senders.*
    from {{ ref('int_event_senders_summarized') }} as senders
    left join {{ ref('customer_identity_map') }} as by_user
        on {{ is_identity_of('by_user', 'analytics', 'senders.user_id') }}
    left join {{ ref('customer_identity_map') }} as by_device
        on {{ is_identity_of('by_device', 'analytics', 'senders.anonymous_id') }}
    where coalesce(by_user.customer_id, by_device.customer_id) is not null
{%- endmacro %}

{#
    An interest weight held at `held_at` (a timestamp expression) as of `as_of`: × 0.5 per var
    interest_half_life_days between them. Hours are counted as dbt.datediff counts them (hour boundaries), which
    add up: decaying t -> t1 -> t2 gives exactly t -> t2.
#}
{% macro decayed(weight, held_at, as_of) -%}
    {{ weight }} * power(
        0.5, {{ dbt.datediff(held_at, as_of, 'hour') }} / 24.0 / {{ var('interest_half_life_days') }}
    )
{%- endmacro %}
