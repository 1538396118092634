{#-
    Spark's implementations of the JSON macros (macros/json.sql). JSON columns are strings on
    Spark (dlt's Parquet files keep nested data as JSON text): get_json_object reads a path,
    from_json parses an array. A field declared `string` in a from_json schema takes any JSON
    value as its text, so a number GA4 sends as a string or as a number reads the same.
    ga4_params parses an event's parameters once; ga4_param filters that array.
-#}

{% macro spark__ga4_params(column) -%}
    from_json(
        {{ column }},
        'array<struct<key: string, value: struct<string_value: string, int_value: string, double_value: string>>>'
    )
{%- endmacro %}

{% macro spark__ga4_param(params, key, value_type='string') -%}
    {%- set sql_type = {'string': 'string', 'int': 'bigint', 'double': 'double'}[value_type] -%}
    cast(filter({{ params }}, param -> param.key = '{{ key }}')[0].value.{{ value_type }}_value as {{ sql_type }})
{%- endmacro %}

{% macro spark__json_field(column, path) -%}
    get_json_object({{ column }}, '$.{{ path }}')
{%- endmacro %}

{% macro spark__json_node(column, path) -%}
    get_json_object({{ column }}, '$.{{ path }}')
{%- endmacro %}

{% macro spark__json_array_items(column, path) -%}
    explode(from_json(get_json_object({{ column }}, '$.{{ path }}'), 'array<string>'))
{%- endmacro %}
