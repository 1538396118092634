{#-
    The day an incremental run reads from, as a literal. A filter such as
    `where event_date >= (select max(event_date) - 3 from {{ this }})` is a scalar subquery:
    DuckDB cannot push it into the scan of the source (nor prune row groups by it), so every
    run reads all history to keep a few days. These macros run the bound's query once, at
    execution time (run_query), and inline its value: `where event_date >= cast('2026-10-29' as date)`.

    incremental_start_date(column, days_back, relation=this): the day `days_back` days before
      max(column) in relation (a date or timestamp column, or an expression over one).
    date_literal(sql): the date a one-row, one-column query returns, as a SQL date literal.

    In a unit test the query stays a scalar subquery: its inputs there are the test's own CTEs,
    which a query run apart cannot see.

    Both apply only when dbt executes an incremental run (`execute and is_incremental()`): at
    parse time, or on a first or full-refresh build, they return the earliest date (no bound),
    as they do when the table is empty (max() is null: every row is new). Portable: the query
    uses dbt.dateadd, and the literal is a cast of an ISO date string, which PostgreSQL, Spark
    and DuckDB all read.
-#}

{% macro incremental_start_date(column, days_back=0, relation=none) -%}
    {%- set relation = relation if relation is not none else this -%}
    {%- if not (execute and is_incremental()) -%}
        {{- return(date_literal(none)) -}}
    {%- endif -%}
    {{- return(date_literal(
        'select cast(' ~ dbt.dateadd('day', -(days_back | int), 'max(' ~ column ~ ')') ~ ' as date) from ' ~ relation
    )) -}}
{%- endmacro %}


{% macro date_literal(sql) -%}
    {%- if sql is not none and model is mapping and model.get('resource_type') == 'unit_test' -%}
        {#- a unit test's inputs (`this`, its refs) are CTEs of its own query: the bound stays a subquery -#}
        {{- return('(' ~ sql ~ ')') -}}
    {%- endif -%}
    {%- set value = none -%}
    {%- if sql is not none and execute -%}
        {%- set value = run_query(sql).columns[0].values()[0] -%}
    {%- endif -%}
    {%- set day = (value | string)[:10] if value is not none else '1900-01-01' -%}
    {{- return("cast('" ~ day ~ "' as date)") -}}
{%- endmacro %}
