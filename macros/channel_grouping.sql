{#-
    channel_grouping(source, medium): the channel group of a (source, medium) pair, as a portable
    CASE expression compiled from seed `channel_grouping` (first matching rule by rule_order;
    LIKE patterns on the lower-cased values; 'Unassigned' when no rule matches).

    The rules are read from the seed at compile time (macros/seeds.sql), so a model using this
    macro must declare the dependency with a comment:  -- depends_on: {{ ref('channel_grouping') }}
    The seed is located through the graph so that unit tests, which replace refs by fixtures,
    still test the real rules.
-#}
{% macro channel_grouping(source, medium) %}
    {%- if not execute -%}
        {{ return("cast(null as " ~ api.Column.translate_type('string') ~ ")") }}
    {%- endif -%}
    {%- set seed = seed_from('channel_grouping', 'channel_grouping()') -%}
    {%- if seed is none -%}
        {#- `dbt compile` with neither the seed nor its file: same SQL shape, no rules -#}
        {{ return("case when " ~ source ~ " is null and " ~ medium ~ " is null then 'Unassigned' else 'Unassigned' end") }}
    {%- endif -%}
    {%- set rules = run_query(
        "select source_pattern, medium_pattern, channel from " ~ seed ~ " order by rule_order") -%}
    case
    {%- for rule in rules.rows %}
        when lower({{ source }}) like '{{ rule[0] | replace("'", "''") }}'
            and lower({{ medium }}) like '{{ rule[1] | replace("'", "''") }}' then '{{ rule[2] }}'
    {%- endfor %}
        else 'Unassigned'
    end
{%- endmacro %}
