{#-
    Generic test: the model has at most one row per combination of `columns` (its grain).
    Fails with one row per duplicated key.
-#}
{% test grain_is_unique(model, columns) %}

select
    {{ columns | join(', ') }},
    count(*) as n_rows
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1

{% endtest %}
