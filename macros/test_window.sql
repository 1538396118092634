{#-
    Data tests that scale with new data. A large incremental model names, in its meta, the column
    that dates its rows (meta: {test_window_column: event_date}). When the var test_window_days or
    the environment variable NORTHSTAR_TEST_WINDOW_DAYS is set (the nightly and the 15-minute job
    set the variable: orchestration/assets/dbt.py; a var would cost dbt a full parse whenever it
    changes, an environment variable read only at run time costs none), every generic test
    on such a model reads only the rows from the day that many days before the model's newest
    (from its midnight: up to a day more), the days the incremental run could have rewritten;
    unset (the weekly full run, `dbt build` by hand, CI) it reads every row. The window is relative to the data's newest day, never to today's date.

    dbt applies a test's `where` config through get_where_subquery; this override keeps that
    (a test's own `where` still applies) and adds the window to it.
-#}

{% macro get_where_subquery(relation) -%}
    {%- set filters = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do filters.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set window = test_window_filter(relation) -%}
    {%- if window -%}
        {%- do filters.append(window) -%}
    {%- endif -%}
    {%- if filters -%}
        {%- set barrier = test_window_barrier() if window else '' -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ filters | join(' and ') ~ barrier ~ ') dbt_subquery') -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}


{% macro test_window_filter(relation) -%}
    {#- the window's predicate for a test on relation, or '' (no var, or no window column) -#}
    {%- if not execute -%}
        {%- do return('') -%}
    {%- endif -%}
    {#- read only when executing: dbt keeps a parse across changes of an environment variable
        that parsing never read, but parses again in full when --vars change -#}
    {%- set days = var('test_window_days', none) -%}
    {%- if days is none -%}
        {%- set days = env_var('NORTHSTAR_TEST_WINDOW_DAYS', '') or none -%}
    {%- endif -%}
    {%- if days is none -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- set attached = model.get('attached_node') if model is mapping else none -%}
    {%- set node = graph.nodes.get(attached) if attached else none -%}
    {%- set column = node.config.meta.get('test_window_column') if node else none -%}
    {%- if not column -%}
        {%- do return('') -%}
    {%- endif -%}
    {#- the bound as a literal (macros/incremental_bounds.sql): a scalar subquery here would keep
        the engine from pushing the window into the scan, and the test would read all history -#}
    {%- do return(column ~ ' >= ' ~ date_literal(
        'select cast(' ~ dbt.dateadd('day', -(days | int), 'max(' ~ column ~ ')') ~ ' as date) from ' ~ relation
    )) -%}
{%- endmacro %}


{#-
    The window's rows first, then the test's own predicate. DuckDB merges a test's filter
    (`ga_session_id is null`) with the window's and may evaluate it first, on every row: on
    stg_ga4__events, then a view that read the parameter from the event's JSON, that was 1.4 s of
    JSON against 0.2 s (2 M events). A limit no table reaches keeps the test's filter above the
    window's. Other engines plan their own way, and Spark's LIMIT takes no bigint: nothing there.
    (stg_ga4__events has been an incremental table since, whose columns cost nothing to filter:
    the barrier now guards only a view given a window column.)
-#}
{% macro test_window_barrier() %}
    {{- return(adapter.dispatch('test_window_barrier', 'northstar')()) -}}
{% endmacro %}

{% macro default__test_window_barrier() %}
    {{- return('') -}}
{% endmacro %}

{% macro duckdb__test_window_barrier() %}
    {{- return(' limit 9223372036854775807') -}}
{% endmacro %}
