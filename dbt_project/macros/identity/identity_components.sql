{#-
    Connected components by min-label propagation with pointer jumping, as CTEs: `nodes` is a CTE with
    record_number, `edges` a CTE with left_number and right_number. Emits the CTEs `<prefix>_labels_0` ...
    `<prefix>_labels_<iterations>` (each: record_number, label = the smallest record_number reached so far),
    each followed by a comma. Every round also jumps to the label's own label, so the distance to the
    minimum halves and few rounds suffice; compare the last two rounds to see whether the bound sufficed.
-#}
{% macro identity_components_ctes(prefix, nodes, edges, iterations) %}
{{ prefix }}_neighbours as (
    select left_number as record_number, right_number as neighbour_number from {{ edges }}
    union
    select right_number, left_number from {{ edges }}
),

{{ prefix }}_labels_0 as (
    select record_number, record_number as label from {{ nodes }}
),
{% for i in range(1, iterations + 1) %}
{{ prefix }}_propagated_{{ i }} as (
    select
        labels.record_number,
        least(labels.label, coalesce(min(neighbour_labels.label), labels.label)) as label
    from {{ prefix }}_labels_{{ i - 1 }} as labels
    left join {{ prefix }}_neighbours as neighbours on labels.record_number = neighbours.record_number
    left join {{ prefix }}_labels_{{ i - 1 }} as neighbour_labels
        on neighbours.neighbour_number = neighbour_labels.record_number
    group by labels.record_number, labels.label
),

{{ prefix }}_labels_{{ i }} as (
    select propagated.record_number, least(propagated.label, label_of_label.label) as label
    from {{ prefix }}_propagated_{{ i }} as propagated
    inner join {{ prefix }}_propagated_{{ i }} as label_of_label on propagated.label = label_of_label.record_number
),
{% endfor %}
{%- endmacro %}
