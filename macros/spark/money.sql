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

{#-
    exact_multiply on Spark (macros/money.sql). Spark types a product of decimal(p1, s1) and
    decimal(p2, s2) as decimal(p1 + p2 + 1, s1 + s2), and past 38 digits it cuts the scale to 6:
    decimal(38, 8) * decimal(38, 10) would be rounded to 6 decimals before the next step (an FX
    conversion, then MRR's division by 12, rounded once more). Narrowed first to the declared
    types, the product keeps both scales, exactly, as on DuckDB.
-#}

{% macro spark__exact_multiply(left, right, left_type, right_type) -%}
    cast({{ left }} as {{ left_type }}) * cast({{ right }} as {{ right_type }})
{%- endmacro %}
