{#-
    Generic test: every non-null value of the column is >= min_value (money and counts are never
    negative; MRR growth is never below -1). Nulls are not_null's to judge. Fails with one row per
    value below the bound. is_between is for shares, bounded on both sides.
-#}
{% test at_least(model, column_name, min_value=0) %}

select {{ column_name }}
from {{ model }}
where {{ column_name }} < {{ min_value }}

{% endtest %}
