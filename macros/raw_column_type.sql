{#-
    raw_column_type(data_type): a column type as the sources and seeds ymls spell it (`varchar`,
    `json`, `bigint`, ...), in the engine's own spelling. DuckDB and Postgres read them as is;
    Spark has no `varchar` without a length and no `json` type (JSON is text there).
-#}

{% macro raw_column_type(data_type) %}
    {{ return(adapter.dispatch('raw_column_type', 'northstar')(data_type)) }}
{% endmacro %}

{% macro default__raw_column_type(data_type) %}
    {{ return(data_type) }}
{% endmacro %}

{% macro spark__raw_column_type(data_type) %}
    {{ return({'varchar': 'string', 'text': 'string', 'json': 'string'}.get(data_type | lower | trim, data_type)) }}
{% endmacro %}
