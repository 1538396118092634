{#-
    Failing a model from inside its query, with a message naming the offending values: a dbt
    data test can only say how many rows failed. The build stops at the model, in one line.
-#}

{% macro no_fx_rate_error(currency, month) -%}
    {#- An expression that fails the query with "no ECB rate for <currency> in <YYYY-MM>". -#}
    {{ return(adapter.dispatch('no_fx_rate_error', 'northstar')(currency, month)) }}
{%- endmacro %}

{% macro duckdb__no_fx_rate_error(currency, month) -%}
    error('no ECB rate for ' || {{ currency }} || ' in ' || strftime({{ month }}, '%Y-%m'))
{%- endmacro %}

{% macro postgres__no_fx_rate_error(currency, month) -%}
    {#- Postgres has no error(): casting the message to a number fails the query with
        `invalid input syntax for type numeric: "no ECB rate for <currency> in <YYYY-MM>"`. -#}
    cast('no ECB rate for ' || {{ currency }} || ' in ' || to_char({{ month }}, 'YYYY-MM') as numeric)
{%- endmacro %}

{% macro default__no_fx_rate_error(currency, month) -%}
    {{ exceptions.raise_compiler_error("no_fx_rate_error has no implementation for adapter " ~ target.type) }}
{%- endmacro %}
