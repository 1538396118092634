{#-
    GA4 export parameters: `event_params` is a list of {key, value: {string_value, int_value,
    double_value}} records. Reading one parameter is warehouse-specific (DuckDB JSON here,
    UNNEST on BigQuery, LATERAL FLATTEN on Snowflake), so models call `ga4_params` once and
    `ga4_param` for each parameter, and each adapter implements both.

    ga4_params(column): the JSON column `event_params`, parsed once per event into the form
    ga4_param reads. Every read of a JSON text parses the whole document again: twelve
    parameters read straight from the text parsed each event's list 24 times on DuckDB
    (`->>` for the keys, then for the value). Parsing it once takes a third off
    stg_ga4__events' time (make bench's default world).
    ga4_param(params, key, value_type): the value of parameter `key` in `params` (what
    ga4_params returned), typed by value_type: 'string' (varchar), 'int' (bigint) or 'double'.
    Null when the event does not carry the parameter; the first one when it carries two.
-#}

{% macro ga4_params(column) %}
    {{ return(adapter.dispatch('ga4_params', 'northstar')(column)) }}
{% endmacro %}

{% macro default__ga4_params(column) %}
    {{ exceptions.raise_compiler_error("ga4_params: no implementation for adapter " ~ target.type) }}
{% endmacro %}

{#- the values as text, cast by ga4_param: a number GA4 sends as a string reads the same -#}
{% macro duckdb__ga4_params(column) -%}
    from_json(
        {{ column }},
        '[{"key": "VARCHAR", "value": {"string_value": "VARCHAR", "int_value": "VARCHAR", "double_value": "VARCHAR"}}]'
    )
{%- endmacro %}

{% macro ga4_param(params, key, value_type='string') %}
    {{ return(adapter.dispatch('ga4_param', 'northstar')(params, key, value_type)) }}
{% endmacro %}

{% macro default__ga4_param(params, key, value_type='string') %}
    {{ exceptions.raise_compiler_error("ga4_param: no implementation for adapter " ~ target.type) }}
{% endmacro %}

{% macro duckdb__ga4_param(params, key, value_type='string') -%}
    {%- set sql_type = {'string': 'varchar', 'int': 'bigint', 'double': 'double'}[value_type] -%}
    cast(list_filter({{ params }}, lambda param: param['key'] = '{{ key }}')[1]['value']['{{ value_type }}_value'] as {{ sql_type }})
{%- endmacro %}

{#- json_field(column, path): a scalar field of a JSON record column as text ('a.b' paths). -#}
{% macro json_field(column, path) %}
    {{ return(adapter.dispatch('json_field', 'northstar')(column, path)) }}
{% endmacro %}

{% macro default__json_field(column, path) %}
    {{ exceptions.raise_compiler_error("json_field: no implementation for adapter " ~ target.type) }}
{% endmacro %}

{% macro duckdb__json_field(column, path) -%}
    ({{ column }} ->> '$.{{ path }}')
{%- endmacro %}

{#- json_node(column, path): the JSON value at a path of a JSON column, still JSON (to read
    further with json_field, json_node or json_array_items). -#}
{% macro json_node(column, path) %}
    {{ return(adapter.dispatch('json_node', 'northstar')(column, path)) }}
{% endmacro %}

{% macro default__json_node(column, path) %}
    {{ exceptions.raise_compiler_error("json_node: no implementation for adapter " ~ target.type) }}
{% endmacro %}

{% macro duckdb__json_node(column, path) -%}
    ({{ column }} -> '$.{{ path }}')
{%- endmacro %}

{#- json_array_items(column, path): one row per element (JSON) of the JSON array at a path of
    a JSON column, as a select-list expression (no row for a missing or empty array). -#}
{% macro json_array_items(column, path) %}
    {{ return(adapter.dispatch('json_array_items', 'northstar')(column, path)) }}
{% endmacro %}

{% macro default__json_array_items(column, path) %}
    {{ exceptions.raise_compiler_error("json_array_items: no implementation for adapter " ~ target.type) }}
{% endmacro %}

{% macro duckdb__json_array_items(column, path) -%}
    unnest(from_json({{ column }} -> '$.{{ path }}', '["json"]'))
{%- endmacro %}

{#-
    PostgreSQL: dlt loads JSON columns as jsonb. Paths become text arrays ('a.b' -> '{a,b}'),
    read with #> (JSON) and #>> (text); cast(... as jsonb) also accepts a json column (an empty
    source's `cast(null as json)`).
-#}

{% macro postgres__ga4_params(column) -%}
    cast({{ column }} as jsonb)
{%- endmacro %}

{% macro postgres__ga4_param(params, key, value_type='string') -%}
    {%- set sql_type = {'string': 'varchar', 'int': 'bigint', 'double': 'double precision'}[value_type] -%}
    cast(
        jsonb_path_query_first(
            {{ params }}, '$[*] ? (@.key == "{{ key }}").value.{{ value_type }}_value'
        ) #>> '{}' as {{ sql_type }}
    )
{%- endmacro %}

{% macro postgres__json_field(column, path) -%}
    (cast({{ column }} as jsonb) #>> '{ {{- path.split('.') | join(',') -}} }')
{%- endmacro %}

{% macro postgres__json_node(column, path) -%}
    (cast({{ column }} as jsonb) #> '{ {{- path.split('.') | join(',') -}} }')
{%- endmacro %}

{% macro postgres__json_array_items(column, path) -%}
    jsonb_array_elements(cast({{ column }} as jsonb) #> '{ {{- path.split('.') | join(',') -}} }')
{%- endmacro %}
