{#- Spark's failing expression for macros/assertions.sql: raise_error fails the query with the message. -#}

{% macro spark__no_fx_rate_error(currency, month) -%}
    raise_error('no ECB rate for ' || {{ currency }} || ' in ' || date_format({{ month }}, 'yyyy-MM'))
{%- endmacro %}
