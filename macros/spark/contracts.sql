{#-
    Enforced contracts on Spark (the metric marts, models/marts/metrics). dbt checks a contract by
    comparing the model's column types with those of an empty query that casts null to each
    declared data_type. The ymls declare `varchar`, which Spark accepts only with a length
    (DATATYPE_MISSING_SIZE): the declared types go through portable_type first (varchar is
    Spark's string), then dbt's own empty-schema query. The check is the same as on the other
    engines (names, order and types); Spark's Parquet tables take no not-null constraints, and
    the marts declare none.
-#}

{% macro spark__get_empty_schema_sql(columns) %}
    {%- set spelled = {} -%}
    {%- for name in columns -%}
        {%- set column = columns[name] -%}
        {%- set entry = {'name': column['name'], 'quote': column.get('quote')} -%}
        {%- if column['data_type'] is defined and column['data_type'] -%}
            {%- do entry.update({'data_type': portable_type(column['data_type'])}) -%}
        {%- endif -%}
        {%- do spelled.update({name: entry}) -%}
    {%- endfor -%}
    {{ return(default__get_empty_schema_sql(spelled)) }}
{% endmacro %}
