{#- Spark's type names for macros/portable/types.sql: no `varchar` without a length, no `json` (JSON is text),
    no `double precision` (the 8-byte float as DuckDB and PostgreSQL both spell it in a contract). -#}

{% macro spark__portable_type(data_type) -%}
    {{ {'varchar': 'string', 'text': 'string', 'json': 'string',
        'double precision': 'double'}.get(data_type | lower | trim, data_type) }}
{%- endmacro %}
