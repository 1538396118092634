{#-
    built_seed(seed_name, used_by): the relation of a built seed, for macros that compile a
    seed's rows into SQL (run_query at execution time: channel_grouping, currency_exponent).
    The seed is located through the graph, not ref(), so that unit tests, which replace refs by
    fixtures, still read the real seed; the calling macro declares the dependency at parse time
    (`ref()` when not execute) or its models do (`-- depends_on: {{ ref(...) }}`).

    When the seed is not built, `dbt run / build / test` stop with a message naming it and
    `used_by`; `dbt compile` and sqlfluff's templater (a warehouse without seeds) only warn,
    and the macro returns none: the caller renders the same SQL shape without rows.
-#}
{% macro built_seed(seed_name, used_by) %}
    {#- unit tests compile without the project graph: fall back to the seeds' configured schema -#}
    {%- set nodes = graph.get('nodes', {}) if graph is mapping else {} -%}
    {%- set seed_node = nodes.get('seed.' ~ project_name ~ '.' ~ seed_name) -%}
    {%- if seed_node -%}
        {%- set location = [seed_node.database, seed_node.schema, seed_node.alias] -%}
    {%- else -%}
        {%- set location = [target.database, generate_schema_name('seeds', none) | trim, seed_name] -%}
    {%- endif -%}
    {%- set relation = adapter.get_relation(location[0], location[1], location[2]) -%}
    {%- if relation is none -%}
        {%- set message = used_by ~ ": seed " ~ seed_name ~ " is not built in " ~ location[1]
            ~ "; run `dbt seed --select " ~ seed_name ~ "` (dbt build does it first)" -%}
        {%- if flags.WHICH in ('run', 'build', 'test', 'retry', 'show') -%}
            {{ exceptions.raise_compiler_error(message) }}
        {%- endif -%}
        {{ exceptions.warn(message) }}
    {%- endif -%}
    {{ return(relation) }}
{% endmacro %}
