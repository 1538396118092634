{#-
    register_raw_sources(): make dlt's raw data readable as the sources the models name.

    On DuckDB (and Postgres) dlt loads into the warehouse's own tables: nothing to do. On Spark
    dlt's `filesystem` destination writes Parquet files, `<raw root>/<dataset>/<table>/<load id>.<file id>.parquet`
    (ingestion/spark.py), and this on-run-start hook declares each source table of the sources
    ymls as an external table over its folder: `raw_<source>.<table> using parquet location ...`.

    The table's columns are the ones its sources yml declares, with their data_type (the one home
    of a raw column's type, as for source_or_empty): no schema inference, which would read the
    footer of every file, and a column a later load added reads as null in the older files. A
    table whose folder does not exist yet (a source not loaded) reads as empty. The tables are
    declared anew on every run (dropping an external table leaves its files), so a changed yml
    takes effect and Spark lists the files the last load added. A source table that declares no
    columns is read by no model and is left out.
-#}

{% macro register_raw_sources() %}
    {{ return(adapter.dispatch('register_raw_sources', 'northstar')()) }}
{% endmacro %}

{% macro default__register_raw_sources() %}
    {{ return('') }}
{% endmacro %}

{% macro spark__register_raw_sources() %}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set root = var('spark_raw_root', env_var('NORTHSTAR_SPARK_DIR', 'warehouse/spark') ~ '/raw') -%}
    {%- set databases = [] -%}
    {#- a table that declares no columns is read by no model (dlt's quarantine of bad GA4 rows) -#}
    {%- for node in graph.sources.values() if node.schema.startswith('raw_') and node.columns -%}
        {%- if node.schema not in databases -%}
            {%- do run_query('create database if not exists ' ~ node.schema) -%}
            {%- do databases.append(node.schema) -%}
        {%- endif -%}
        {%- set columns = [] -%}
        {%- for column in source_columns(node.source_name, node.name) -%}
            {%- set name = adapter.quote(column.name) if column.quote else column.name -%}
            {%- do columns.append(name ~ ' ' ~ portable_type(column.data_type)) -%}
        {%- endfor -%}
        {%- set relation = node.schema ~ '.' ~ node.identifier -%}
        {%- do run_query('drop table if exists ' ~ relation) -%}
        {%- do run_query('create table ' ~ relation ~ ' (' ~ columns | join(', ') ~ ') using parquet location '
            ~ "'" ~ root ~ '/' ~ node.schema ~ '/' ~ node.identifier ~ "'") -%}
    {%- endfor -%}
    {{ return('') }}
{% endmacro %}
