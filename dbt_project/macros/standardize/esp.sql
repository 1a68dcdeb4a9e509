{#
    True when a Mailchimp unsubscribe reason says the member reported the email as spam: Mailchimp's own
    "N/A (Abuse complaint)" / `abuse`, or the unsubscribe survey's "The emails are spam and should be reported".
    False for any other reason, and for none.
#}
{% macro esp_is_spam_complaint(reason) -%}
    coalesce(
        lower({{ clean_text(reason) }}) like '%abuse%' or lower({{ clean_text(reason) }}) like '%spam%',
        false
    )
{%- endmacro %}
