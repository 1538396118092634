{#-
    Enforced contracts on Spark (the marts, models/marts/core and metrics). dbt checks a contract by
    comparing the model's column types with those of an empty query that casts null to each
    declared data_type. The ymls declare `varchar`, which Spark accepts only with a length
    (DATATYPE_MISSING_SIZE), and `double precision`, which it calls `double`: the declared types
    go through portable_type first, then dbt's own empty-schema query. The check is the same as on
    the other engines (names, order and types).

    The marts' not_null constraints (DuckDB and PostgreSQL enforce them when the table is filled)
    are not applied on Spark: dbt-spark sets them with ALTER TABLE, which only Delta tables take,
    and it assumes Delta when no file_format is set. This project's Spark tables are Parquet, and
    its Spark build runs no data tests either: the DuckDB build checks the data.
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

{% macro spark__persist_constraints(relation, model) %}
    {#- dbt-spark's version, but only for a model configured file_format='delta' -#}
    {%- if config.get('contract').enforced and config.get('file_format') == 'delta' -%}
        {% do alter_table_add_constraints(relation, model.constraints) %}
        {% do alter_column_set_constraints(relation, model.columns) %}
    {%- endif -%}
{% endmacro %}
