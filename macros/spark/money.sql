{#-
    exact_divide on Spark (macros/money.sql). Spark shrinks a decimal quotient's scale to 6 digits
    when its precision passes 38 (decimal(38, 12) / decimal(38, 12) does), so the default's
    10-decimal FX rates would lose digits. As on DuckDB, both sides are scaled to integers
    (exact for inputs below 10^12 with up to 12 decimals) and divided as integers (`div`,
    exact, truncating), rounded half away from zero. The quotient is a bigint: at most
    9.2 * 10^18 / 10^scale (9.2 * 10^8 at 10 decimals, 9.2 * 10^12 at 6). The last step multiplies
    it by 10^-scale as narrow decimals (decimal(19, 0) * decimal(scale + 1, scale): precision
    scale + 21, at most 38 up to 17 decimals), so that Spark keeps the scale: a product wider
    than 38 digits would have its scale cut to 6 again.
-#}

{% macro spark__exact_divide(numerator, denominator, scale) -%}
    {%- set num = 'cast(cast(' ~ numerator ~ ' as decimal(24, 12)) * cast(1000000000000 as decimal(13, 0)) as decimal(38, 0))' -%}
    {%- set den = 'cast(cast(' ~ denominator ~ ' as decimal(24, 12)) * cast(1000000000000 as decimal(13, 0)) as decimal(38, 0))' -%}
    cast(
        cast(
            sign({{ num }}) * sign({{ den }})
            * ((2 * abs({{ num }}) * {{ 10 ** scale }} + abs({{ den }})) div (2 * abs({{ den }})))
            as decimal(19, 0)
        ) * cast('{{ "%.*f" | format(scale, 10 ** (0 - scale)) }}' as decimal({{ scale + 1 }}, {{ scale }}))
        as decimal(38, {{ scale }})
    )
{%- endmacro %}
