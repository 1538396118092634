{#-
    generate_schema_name: a model's schema is its layer's name, as is (staging, intermediate,
    core, metrics, seeds), not dbt's default `<target schema>_<custom>`.

    dbt prefixes custom schemas with the target's schema so that developers sharing one database
    do not overwrite each other. Each DuckDB target here is a file of its own (dev and prod never
    share one), so the prefix would only make BI users read `main_metrics.mrr_summary`. A model
    without a custom schema still lands in the target's schema.

    Draft builds (write-audit-publish on a server engine, orchestration/postgres_wap.py) add a
    suffix to every layer: var `schema_suffix`, else NORTHSTAR_SCHEMA_SUFFIX (e.g. `__draft`
    builds metrics__draft), empty by default. The audited drafts are then renamed over the
    published schemas in one transaction.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}{{ var('schema_suffix', env_var('NORTHSTAR_SCHEMA_SUFFIX', '')) | trim }}
    {%- endif -%}
{%- endmacro %}
