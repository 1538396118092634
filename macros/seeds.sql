{#-
    seed_from(seed_name, used_by): what to select a seed's rows from, for macros that compile
    a seed's rows into SQL at execution time (run_query: channel_grouping, currency_exponent).
    The built seed when it is in the warehouse; else, on DuckDB, the seed's CSV file read in
    place, so `dbt run` (which loads no seed) and `dbt compile` / sqlfluff on a warehouse
    without seeds compile the same SQL from the same file. The seed is located through the
    graph, not ref(), so that unit tests, which replace refs by fixtures, read the real seed;
    the calling macro declares the dependency itself (`ref()` at parse time) or its models do
    (`-- depends_on: {{ ref(...) }}`).

    When neither is there, `dbt run / build / test` stop with a message naming the seed and
    `used_by`; `dbt compile` only warns, and the macro returns none: the caller renders the
    same SQL shape without rows.
-#}
{% macro seed_from(seed_name, used_by) %}
    {#- unit tests compile without the project graph: fall back to the seeds' configured schema -#}
    {%- set nodes = graph.get('nodes', {}) if graph is mapping else {} -%}
    {%- set seed_node = nodes.get('seed.' ~ project_name ~ '.' ~ seed_name) -%}
    {%- if seed_node -%}
        {%- set location = [seed_node.database, seed_node.schema, seed_node.alias] -%}
    {%- else -%}
        {%- set location = [target.database, generate_schema_name('seeds', none) | trim, seed_name] -%}
    {%- endif -%}
    {%- set relation = adapter.get_relation(location[0], location[1], location[2]) -%}
    {%- if relation is not none -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- set from_file = adapter.dispatch('seed_file', 'northstar')(seed_node) if seed_node else none -%}
    {%- if from_file -%}
        {{ return(from_file) }}
    {%- endif -%}
    {%- set message = used_by ~ ": seed " ~ seed_name ~ " is not built in " ~ location[1]
        ~ "; run `dbt seed --select " ~ seed_name ~ "` (dbt build does it first)" -%}
    {%- if flags.WHICH in ('run', 'build', 'test', 'retry', 'show') -%}
        {{ exceptions.raise_compiler_error(message) }}
    {%- endif -%}
    {{ exceptions.warn(message) }}
    {{ return(none) }}
{% endmacro %}

{#- seed_file(seed_node): the seed's CSV file as a relation to select from, or none. -#}
{% macro default__seed_file(seed_node) %}
    {{ return(none) }}
{% endmacro %}

{% macro duckdb__seed_file(seed_node) %}
    {%- set path = seed_node.root_path ~ '/' ~ seed_node.original_file_path -%}
    {{ return("read_csv('" ~ path | replace("'", "''") ~ "', header = true)") }}
{% endmacro %}
