{#-
    epoch_microseconds_to_timestamp(column): a BIGINT of microseconds since the Unix epoch
    (GA4's event_timestamp) as a UTC timestamp without time zone.
-#}

{% macro epoch_microseconds_to_timestamp(column) %}
    {{ return(adapter.dispatch('epoch_microseconds_to_timestamp', 'northstar')(column)) }}
{% endmacro %}

{% macro default__epoch_microseconds_to_timestamp(column) -%}
    {{ dbt.dateadd('microsecond', column, "cast('1970-01-01' as timestamp)") }}
{%- endmacro %}

{% macro duckdb__epoch_microseconds_to_timestamp(column) -%}
    make_timestamp({{ column }})
{%- endmacro %}


{#-
    epoch_seconds_to_timestamp(column): a BIGINT of seconds since the Unix epoch (Stripe's
    times) as a UTC timestamp without time zone.
-#}

{% macro epoch_seconds_to_timestamp(column) -%}
    {{ dbt.dateadd('second', column, "cast('1970-01-01' as timestamp)") }}
{%- endmacro %}
