{#-
    An incremental model's contract holds only if its built table has the constraints: dbt creates
    the table with them (not null, check) when it builds the model whole, and each incremental run
    inserts into that table, so the database checks the new rows. A table built before its contract
    (or before a constraint was added) has fewer, and its incremental runs would insert rows that
    nothing checks (a retyped column fails on_schema_change instead). Such a table is built whole
    once, as with --full-refresh.

    Only DuckDB's tables carry over from run to run (the nightly's draft is a copy of the published
    file); PostgreSQL's and Spark's drafts start empty, so their incremental models are always built
    whole (orchestration/postgres_wap.py, spark_wap.py).
-#}

{% macro should_full_refresh() %}
    {%- if dbt.should_full_refresh() -%}
        {{ return(true) }}
    {%- endif -%}
    {{ return(execute and model.resource_type == 'model' and config.get('materialized') == 'incremental'
              and config.get('contract').enforced and lacks_contract_constraints(this)) }}
{% endmacro %}

{% macro lacks_contract_constraints(relation) %}
    {{- return(adapter.dispatch('lacks_contract_constraints', 'northstar')(relation)) -}}
{% endmacro %}

{% macro default__lacks_contract_constraints(relation) %}
    {{- return(false) -}}
{% endmacro %}

{% macro duckdb__lacks_contract_constraints(relation) %}
    {%- set existing = load_cached_relation(relation) -%}
    {%- if existing is none or existing.is_view -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set declared = [] -%}
    {%- for column in model['columns'].values() -%}
        {%- for constraint in column['constraints'] if constraint['type'] in ('not_null', 'check') -%}
            {%- do declared.append(constraint) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- for constraint in model['constraints'] if constraint['type'] == 'check' -%}
        {%- do declared.append(constraint) -%}
    {%- endfor -%}
    {%- set built = run_query(
        "select count(*) from duckdb_constraints() where database_name = '" ~ relation.database
        ~ "' and schema_name = '" ~ relation.schema ~ "' and table_name = '" ~ relation.identifier
        ~ "' and constraint_type in ('NOT NULL', 'CHECK')"
    ).columns[0].values()[0] -%}
    {{ return(built != declared | length) }}
{% endmacro %}
