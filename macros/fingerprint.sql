{#-
    Fingerprints of a model's inputs, for incremental models that recompute what changed (e.g.
    int_subscription_mrr_daily: the subscriptions whose Stripe evidence changed). A fingerprint
    is an md5 (dbt.hash) of the rows' values as text, so it is the same on every run over the
    same rows, in any load order, and differs when any value does. It is compared only with
    fingerprints built by the same engine: the text of a timestamp or a decimal is the engine's.

    row_fingerprint(columns): one row's values as one text (a null is distinct from '').
    group_fingerprint(relation, key, columns): a subquery of (key, fingerprint): each key's rows'
      fingerprints, sorted and hashed together.
-#}

{% macro row_fingerprint(columns) -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- do parts.append("coalesce(cast(" ~ column ~ " as " ~ dbt.type_string() ~ "), '<null>')") -%}
        {%- if not loop.last -%}
            {%- do parts.append("'|'") -%}
        {%- endif -%}
    {%- endfor -%}
    {{ dbt.concat(parts) }}
{%- endmacro %}


{% macro group_fingerprint(relation, key, columns) -%}
    select
        {{ key }},
        {{ dbt.hash(sorted_text_agg(dbt.hash(row_fingerprint(columns)))) }} as fingerprint
    from {{ relation }}
    group by {{ key }}
{%- endmacro %}


{#- sorted_text_agg(text): the group's texts joined in sorted order (deterministic on every engine) -#}
{% macro sorted_text_agg(text) %}
    {{- return(adapter.dispatch('sorted_text_agg', 'northstar')(text)) -}}
{% endmacro %}

{% macro default__sorted_text_agg(text) -%}
    {{ dbt.listagg(text, "','", 'order by ' ~ text) }}
{%- endmacro %}

{#- dbt-spark's listagg ignores its order: sort the collected list instead -#}
{% macro spark__sorted_text_agg(text) -%}
    array_join(array_sort(collect_list({{ text }})), ',')
{%- endmacro %}
