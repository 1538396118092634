{#-
    Type names that differ between engines. `double` is DuckDB's and Spark's name for an 8-byte
    float; PostgreSQL only knows `double precision` (which Spark does not accept).

    type_double(): the 8-byte float type name.
    portable_type(data_type): a type as written in a sources yml (`double`, `varchar`, `json`,
      ...) in the engine's spelling, for source_or_empty's typed empty relations.
-#}

{% macro type_double() %}
    {{- return(adapter.dispatch('type_double', 'northstar')()) -}}
{% endmacro %}

{% macro default__type_double() -%}
    double
{%- endmacro %}

{% macro postgres__type_double() -%}
    double precision
{%- endmacro %}

{% macro portable_type(data_type) %}
    {{- return(adapter.dispatch('portable_type', 'northstar')(data_type)) -}}
{% endmacro %}

{% macro default__portable_type(data_type) -%}
    {{ type_double() if data_type | lower == 'double' else data_type }}
{%- endmacro %}
