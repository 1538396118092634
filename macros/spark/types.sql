{#- Spark's type names for macros/portable/types.sql: no `varchar` without a length, no `json` (JSON is text). -#}

{% macro spark__portable_type(data_type) -%}
    {{ {'varchar': 'string', 'text': 'string', 'json': 'string'}.get(data_type | lower | trim, data_type) }}
{%- endmacro %}
