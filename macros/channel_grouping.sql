{#-
    channel_grouping(source, medium): the channel group of a (source, medium) pair, as a portable
    CASE expression compiled from seed `channel_grouping` (first matching rule by rule_order;
    LIKE patterns on the lower-cased values; 'Unassigned' when no rule matches).

    The rules are read from the built seed at compile time, so a model using this macro must
    declare the dependency with a comment:  -- depends_on: {{ ref('channel_grouping') }}
    The seed is located through the graph (not ref()) so that unit tests, which replace refs
    by fixtures, still test the real rules.
-#}
{% macro channel_grouping(source, medium) %}
    {%- if not execute -%}
        {{ return("cast(null as " ~ api.Column.translate_type('string') ~ ")") }}
    {%- endif -%}
    {#- unit tests compile without the project graph: fall back to the seeds' configured schema -#}
    {%- set nodes = graph.get('nodes', {}) if graph is mapping else {} -%}
    {%- set seed_node = nodes.get('seed.' ~ project_name ~ '.channel_grouping') -%}
    {%- if seed_node -%}
        {%- set location = [seed_node.database, seed_node.schema, seed_node.alias] -%}
    {%- else -%}
        {%- set location = [target.database, generate_schema_name('seeds', none) | trim, 'channel_grouping'] -%}
    {%- endif -%}
    {%- set relation = adapter.get_relation(location[0], location[1], location[2]) -%}
    {%- if relation is none -%}
        {%- set message = "channel_grouping(): seed channel_grouping is not built in " ~ location[1]
            ~ "; run `dbt seed --select channel_grouping` (dbt build does it first)" -%}
        {%- if flags.WHICH in ('run', 'build', 'test', 'retry', 'show') -%}
            {{ exceptions.raise_compiler_error(message) }}
        {%- endif -%}
        {#- compile / lint (sqlfluff) on a warehouse without seeds: same SQL shape, no rules -#}
        {{ exceptions.warn(message) }}
        {{ return("case when " ~ source ~ " is null and " ~ medium ~ " is null then 'Unassigned' else 'Unassigned' end") }}
    {%- endif -%}
    {%- set rules = run_query(
        "select source_pattern, medium_pattern, channel from " ~ relation ~ " order by rule_order") -%}
    case
    {%- for rule in rules.rows %}
        when lower({{ source }}) like '{{ rule[0] | replace("'", "''") }}'
            and lower({{ medium }}) like '{{ rule[1] | replace("'", "''") }}' then '{{ rule[2] }}'
    {%- endfor %}
        else 'Unassigned'
    end
{%- endmacro %}
