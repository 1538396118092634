{#-
    double_to_decimal(expression, scale): a non-negative double (an attribution weight, a
    share) as decimal(38, scale), rounded half away from zero from the double's exact binary
    value, as DuckDB's cast does. PostgreSQL's cast goes through 15 significant decimal digits
    first (a second rounding); so there the double is scaled to an integer in double arithmetic
    (exact below 2^52 / 10^scale: values up to 4.5 at scale 15) and rounded by floor(x + 0.5),
    which every engine computes alike.
-#}

{% macro double_to_decimal(expression, scale) %}
    {{- return(adapter.dispatch('double_to_decimal', 'northstar')(expression, scale)) -}}
{% endmacro %}

{% macro default__double_to_decimal(expression, scale) -%}
    cast(
        cast(sign({{ expression }}) * floor(abs({{ expression }}) * cast(1e{{ scale }} as {{ type_double() }}) + 0.5)
            as decimal(38, 0))
        * cast('{{ "%.*f" | format(scale, 10 ** (0 - scale)) }}' as decimal(38, {{ scale }}))
        as decimal(38, {{ scale }})
    )
{%- endmacro %}

{% macro duckdb__double_to_decimal(expression, scale) -%}
    cast({{ expression }} as decimal(38, {{ scale }}))
{%- endmacro %}

{#-
    try_cast_decimal(expression, precision, scale): text as decimal(precision, scale), null
    when it is not a number (DuckDB's and Spark's try_cast). PostgreSQL has no try_cast: a
    pattern of decimal numbers guards the cast.
-#}

{% macro try_cast_decimal(expression, precision=38, scale=12) %}
    {{- return(adapter.dispatch('try_cast_decimal', 'northstar')(expression, precision, scale)) -}}
{% endmacro %}

{% macro default__try_cast_decimal(expression, precision=38, scale=12) -%}
    try_cast({{ expression }} as decimal({{ precision }}, {{ scale }}))
{%- endmacro %}

{% macro postgres__try_cast_decimal(expression, precision=38, scale=12) -%}
    case
        when trim(cast({{ expression }} as text)) ~ '^[-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)?$'
            then cast(trim(cast({{ expression }} as text)) as decimal({{ precision }}, {{ scale }}))
    end
{%- endmacro %}
