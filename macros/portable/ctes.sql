{#-
    not_materialized(): written between a CTE's `as` and its query, as in
    `events as {{ not_materialized() }} (select ...)`, it tells the engine to inline the CTE into
    each query that reads it instead of computing it once into a temporary result. DuckDB
    computes a CTE read twice once, whole, before any filter of its readers is applied: for GA4's
    events (13.6 M rows at make bench's large scale, under the 2 GB memory limit) that copy cost
    more than the readers' own work. Inlined, each reader scans the table with its own columns
    and filters. PostgreSQL takes the same words; Spark always inlines CTEs and has no such
    syntax, so there it is empty (macros/spark/portable.sql).
-#}

{% macro not_materialized() %}
    {{- return(adapter.dispatch('not_materialized', 'northstar')()) -}}
{% endmacro %}

{% macro default__not_materialized() -%}
    not materialized
{%- endmacro %}
