{#-
    Generic test: every non-null value of the column lies in [min_value, max_value] (rates that
    must be shares). Fails with one row per value outside the range.
-#}
{% test is_between(model, column_name, min_value=0, max_value=1) %}

select {{ column_name }}
from {{ model }}
where {{ column_name }} < {{ min_value }} or {{ column_name }} > {{ max_value }}

{% endtest %}
