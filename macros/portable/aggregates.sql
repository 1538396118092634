{#-
    ordered_sum(expression, order_by): the sum of `expression` over the group's rows added in
    `order_by` order. Floating-point addition is not associative: a plain sum() adds in
    whatever order rows arrive, so the same rows loaded in another order (or on another
    engine) give sums differing in the last bits. DuckDB sums an ordered list; PostgreSQL's
    ordered aggregate adds in its ORDER BY order. text_order=true: `order_by` is text, ordered
    by its bytes (DuckDB's order; PostgreSQL would follow the database's collation).
-#}

{% macro ordered_sum(expression, order_by, text_order=false) %}
    {{- return(adapter.dispatch('ordered_sum', 'northstar')(expression, order_by, text_order)) -}}
{% endmacro %}

{% macro default__ordered_sum(expression, order_by, text_order=false) -%}
    sum({{ expression }} order by {{ order_by }})
{%- endmacro %}

{% macro postgres__ordered_sum(expression, order_by, text_order=false) -%}
    sum({{ expression }} order by {{ order_by }}{{ ' collate "C"' if text_order }})
{%- endmacro %}

{% macro duckdb__ordered_sum(expression, order_by, text_order=false) -%}
    list_sum(list({{ expression }} order by {{ order_by }}))
{%- endmacro %}
