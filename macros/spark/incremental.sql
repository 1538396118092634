{#-
    delete+insert on Spark. The incremental models replace a slice of their rows each run
    (delete+insert by a key): dbt-spark offers that only on Delta or Iceberg tables (merge),
    and the tables here are plain Parquet (no Delta or Iceberg jars without a network). So on
    Spark delete+insert rewrites the table: the existing rows whose key is not in the new batch
    (a left anti join, null-safe on every key column), then the new batch, into a new table
    that takes the old one's name. The result is the same as on DuckDB; the cost is a rewrite.
-#}

{% macro dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format) %}
    {%- if raw_strategy == 'delete+insert' -%}
        {{ return(raw_strategy) }}
    {%- endif -%}
    {{ return(dbt_spark.dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format)) }}
{% endmacro %}

{% macro dbt_spark_get_incremental_sql(strategy, source, target, existing, unique_key, incremental_predicates) %}
    {%- if strategy != 'delete+insert' -%}
        {{ return(dbt_spark.dbt_spark_get_incremental_sql(strategy, source, target, existing, unique_key, incremental_predicates)) }}
    {%- endif -%}
    {%- if not unique_key -%}
        {{ exceptions.raise_compiler_error("delete+insert on Spark needs a unique_key: " ~ target) }}
    {%- endif -%}
    {%- set keys = [unique_key] if unique_key is string else unique_key -%}
    {%- set columns = adapter.get_columns_in_relation(source) | map(attribute='quoted') | join(', ') -%}
    {%- set rebuilt = target.incorporate(path={"identifier": target.identifier ~ '__dbt_rebuilt'}) -%}
    {%- do run_query('drop table if exists ' ~ rebuilt) -%}
    {%- do run_query(
        'create table ' ~ rebuilt ~ ' using parquet as select ' ~ columns ~ ' from ' ~ target ~ ' as kept'
        ~ ' left anti join ' ~ source ~ ' as batch on ' ~ keys_match(keys)
        ~ ' union all select ' ~ columns ~ ' from ' ~ source) -%}
    {%- do run_query('drop table ' ~ target) -%}
    alter table {{ rebuilt }} rename to {{ target }}
{% endmacro %}

{% macro keys_match(keys) -%}
    {%- for key in keys -%}
        kept.{{ key | trim }} <=> batch.{{ key | trim }}{{ ' and ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}
