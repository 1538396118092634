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
    {#- a table that declares no columns is read by no model (dlt's quarantine of bad GA4 rows) -#}
    {%- set parents, children, schemas, views = [], [], [], {} -%}
    {%- for node in graph.sources.values() if node.schema.startswith('raw_') and node.columns -%}
        {#- parents first: a child's view reads its parent's -#}
        {%- do (children if node.meta.get('spark_raw', {}).get('parent') else parents).append(node) -%}
        {%- if node.schema not in schemas -%}
            {%- do schemas.append(node.schema) -%}
            {%- do run_query('create database if not exists ' ~ node.schema) -%}
            {%- do views.update({node.schema: run_query('show views in ' ~ node.schema).columns[1].values() | list}) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for node in parents + children -%}
        {%- set dedupe = node.meta.get('spark_raw', {}) -%}
        {%- set columns, names = [], [] -%}
        {%- for column in source_columns(node.source_name, node.name) -%}
            {%- set name = adapter.quote(column.name) if column.quote else column.name -%}
            {%- do columns.append(name ~ ' ' ~ portable_type(column.data_type)) -%}
            {%- do names.append(column.name) -%}
        {%- endfor -%}
        {#- the columns the deduplication reads (dlt's own, the key), when the yml does not declare them -#}
        {%- set extra = [] -%}
        {%- if dedupe.key -%}{%- do extra.extend(['_dlt_id'] + dedupe.key) -%}{%- endif -%}
        {%- if dedupe.parent -%}{%- do extra.append('_dlt_parent_id') -%}{%- endif -%}
        {%- for name in extra if name not in names -%}
            {%- do columns.append(name ~ ' string') -%}
            {%- do names.append(name) -%}
        {%- endfor -%}
        {%- set relation = node.schema ~ '.' ~ node.identifier -%}
        {%- set files = relation ~ ('__files' if dedupe else '') -%}
        {%- if node.identifier in views[node.schema] -%}
            {%- do run_query('drop view ' ~ relation) -%}
        {%- else -%}
            {%- do run_query('drop table if exists ' ~ relation) -%}
        {%- endif -%}
        {%- do run_query('drop table if exists ' ~ files) -%}
        {%- do run_query('create table ' ~ files ~ ' (' ~ columns | join(', ') ~ ') using parquet location '
            ~ "'" ~ root ~ '/' ~ node.schema ~ '/' ~ node.identifier ~ "'") -%}
        {%- if dedupe -%}
            {%- do run_query('create view ' ~ relation ~ ' as ' ~ spark_raw_current_rows(files, names, dedupe, node.schema)) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return('') }}
{% endmacro %}

{#-
    spark_raw_current_rows(files, names, dedupe, schema): the rows of an appended Parquet table
    that dlt's merge would have kept. `key`: per key, the rows of the newest load, or of the
    first with `keep: first` (dlt's insert-only strategy); a
    primary key gives one row per key, a merge key (GA4's event_date) the whole newest load
    of that key (delete-insert). `parent`: a child table's rows whose parent row is current.
    A row's load is its file's: dlt names each file `<load id>.<file id>.parquet` (the
    `_dlt_load_id` column is missing from the files of sources that yield Arrow tables, GA4's).
-#}

{% macro spark_raw_current_rows(files, names, dedupe, schema) -%}
    {%- set quoted = [] -%}
    {%- for name in names -%}{%- do quoted.append(adapter.quote(name)) -%}{%- endfor -%}
    {%- if dedupe.key -%}
        select {{ quoted | join(', ') }} from (
            select *, {{ 'min' if dedupe.get('keep') == 'first' else 'max' }}(__load_id)
                over (partition by `{{ dedupe.key | join("`, `") }}`) as __kept_load_id
            from (
                select *, regexp_extract(input_file_name(), '([^/]+)[.][^./]+[.]parquet$', 1) as __load_id
                from {{ files }}
            )
        ) where __load_id = __kept_load_id
    {%- else -%}
        select {{ quoted | join(', ') }} from {{ files }}
        where _dlt_parent_id in (select _dlt_id from {{ schema }}.{{ dedupe.parent }})
    {%- endif -%}
{%- endmacro %}
