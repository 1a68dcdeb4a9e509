{{
    config(
        materialized='incremental',
        unique_key='anonymous_id',
        pre_hook="{% if is_incremental() %}
            delete from {{ this }} where anonymous_id in ({{ events_turned_non_human('anonymous_id', since=newest_stamp_in_this('dbt_updated_at')) }})
            {% endif %}",
    )
}}
-- depends_on: {{ ref('int_events_bot_flagged') }}
-- One row per browsing session of a person (bots and staff excluded), with its person when known.
--
-- Incremental per device: a run rebuilds every session of the anonymous ids whose events int_events_attributed
-- (re)wrote since the newest dbt_updated_at here (a late event can merge two sessions and remove one, a new
-- login changes the person of all of them), replacing that id's sessions (delete+insert on anonymous_id).
-- The pre-hook first deletes the sessions of the ids with events judged non-human since: an id whose
-- events all turned non-human has none left; one with a human event left had its last session re-sessionized
-- upstream (every new event of an id restarts it there), so it is among the ids attributed since.
with

events as (
    select * from {{ ref('int_events_attributed') }}
    {% if is_incremental() %}
    where anonymous_id in (
        select anonymous_id from {{ ref('int_events_attributed') }}
        where attributed_at > {{ newest_stamp_in_this('dbt_updated_at') }}
    )
    {% endif %}
),

sessions as (
    select
        session_id,
        anonymous_id,
        {{ freshest_value('customer_id', 'occurred_at desc') }} as customer_id,
        min(occurred_at) as started_at,
        max(occurred_at) as ended_at,
        count(*) as events_count,
        count(case when event_type = 'page' then 1 end) as page_views_count,
        count(case when event_name = 'Product Viewed' then 1 end) as product_views_count,
        {{ freshest_value('page_path', 'occurred_at') }} as landing_page_path,
        {{ freshest_value('referrer', 'occurred_at') }} as referrer
    from events
    group by session_id, anonymous_id
)

select
    session_id as session_key,
    anonymous_id,
    case when customer_id is not null then {{ surrogate_key(['customer_id']) }} end as customer_key,
    cast(started_at as date) as session_date,
    started_at,
    ended_at,
    {{ dbt.datediff('started_at', 'ended_at', 'second') }} as duration_seconds,  -- noqa: LT05
    events_count,
    page_views_count,
    product_views_count,
    landing_page_path,
    referrer,
    {{ run_started_timestamp() }} as dbt_updated_at
from sessions
