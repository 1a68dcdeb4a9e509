{#
    The senders (anonymous_id, user_id, and their sender_key) whose human events changed since `since`, a run
    stamp: those with events int_events_sessionized (re)wrote after it (new, late, re-sessionized) and those with
    events int_events_bot_flagged judged non-human after it (a burst can turn a sender's earlier events into bot
    traffic, which leaves int_events_sessionized without a trace). What int_event_senders_summarized replaces.
#}
{% macro senders_with_changed_events(since) -%}
    select distinct
        anonymous_id,
        user_id,
        {{ surrogate_key(['anonymous_id', 'user_id']) }} as sender_key
    from (
        select anonymous_id, user_id from {{ ref('int_events_sessionized') }}
        where sessionized_at > {{ since }}
        union all
        select anonymous_id, user_id from {{ ref('int_events_bot_flagged') }}
        where non_human_reason is not null
            and anonymous_id is not null
            and judged_at > {{ since }}
    ) as changed_events
{%- endmacro %}

{#
    Every row of int_event_senders_summarized with the person behind the sender, as int_events_attributed
    attributes an event: the userId's customer when customer_identity_map knows it, else the anonymousId's.
    Senders of no known person are left out.
#}
{% macro senders_with_customer() -%}
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
