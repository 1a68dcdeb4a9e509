{{
    config(
        materialized='incremental',
        unique_key='message_id',
        pre_hook="{% if is_incremental() %}
            delete from {{ this }} where message_id in (
                {{ events_turned_non_human('message_id', since=newest_stamp_in_this('judged_at')) }})
            {% endif %}",
        post_hook="{{ sessionize_other_slices() }}",
    )
}}
-- Human events grouped into sessions per anonymous id: more than var session_timeout_minutes of
-- inactivity starts a new session. A session is identified by its anonymous id and start time.
--
-- The SQL is macros/events/sessionized_events.sql, because it runs once per slice of the anonymous ids:
-- DuckDB's window operator keeps all its input in memory, so a run sessionizing more than var
-- session_slice_events events cuts the ids into slices by a hash, this query doing the first and the
-- post-hook the others (each replacing its events' rows, as dbt's delete+insert does).
--
-- The windows run over the narrow (message_id, anonymous_id, occurred_at) only, and the session columns are
-- joined back to the events by message_id (unique): a window over `select *` sorts and holds every column of
-- every event, once per window. The events are read twice rather than through a shared CTE, which DuckDB
-- would materialize in memory with all its columns.
--
-- Incremental on the dlt load id: a run re-sessionizes only the anonymous ids with events in newer loads, and
-- each of them only from its restart point: the start of the session of its last event before its earliest
-- new one (a late event can bridge or split that session, never an earlier one); from the beginning if it
-- has no earlier event. Sessions of events that turned non-human (an id whose new burst crossed the rate
-- limit) are deleted first, by the pre-hook: those int_events_bot_flagged (re)judged after the newest judged_at
-- held here, as int_events_attributed and fct_sessions do, not every non-human event there is (0.2-0.6 s at
-- medium scale of matching 760k events against 10M for nothing).
-- sessionized_at stamps the rows a run (re)wrote. Full refresh after changing var session_timeout_minutes.
{{ sessionized_events(slice=0, slices=session_slices()) }}
