{#- Money: Stripe amounts are integers in the currency's minor unit (METRICS.md "Money"). -#}

{% macro currency_exponent(currency) -%}
    {#- Decimal places of a currency's minor unit: 0 for zero-decimal currencies, 3 for the
        three-decimal ones, 2 for every other (Stripe's lists; seeds/currency_exponents.csv
        holds the same exceptions and tests/sql/assert_currency_exponent_macro_matches_seed.sql
        keeps the two in step). -#}
    case
        when upper({{ currency }}) in (
            'BIF', 'CLP', 'DJF', 'GNF', 'JPY', 'KMF', 'KRW', 'MGA',
            'PYG', 'RWF', 'UGX', 'VND', 'VUV', 'XAF', 'XOF', 'XPF'
        ) then 0
        when upper({{ currency }}) in ('BHD', 'JOD', 'KWD', 'OMR', 'TND') then 3
        else 2
    end
{%- endmacro %}

{% macro to_major_units(amount, currency, scale=6) -%}
    {#- Minor units -> major units as an exact decimal. Multiplies by 1, 0.01 or 0.001 (never
        divides: some adapters divide decimals in floating point). -#}
    cast(
        cast({{ amount }} as decimal(38, {{ scale }}))
        * case {{ currency_exponent(currency) }}
            when 0 then cast(1 as decimal(4, 3))
            when 3 then cast(0.001 as decimal(4, 3))
            else cast(0.01 as decimal(4, 3))
        end
        as decimal(38, {{ scale }})
    )
{%- endmacro %}

{% macro exact_divide(numerator, denominator, scale=6) -%}
    {#- numerator / denominator as decimal(38, scale), rounded half away from zero, with no
        floating point on the way. -#}
    {{ return(adapter.dispatch('exact_divide')(numerator, denominator, scale)) }}
{%- endmacro %}

{% macro default__exact_divide(numerator, denominator, scale) -%}
    cast(round(cast({{ numerator }} as decimal(38, 12)) / {{ denominator }}, {{ scale }}) as decimal(38, {{ scale }}))
{%- endmacro %}

{% macro duckdb__exact_divide(numerator, denominator, scale) -%}
    {#- DuckDB divides decimals in DOUBLE: divide integers instead. The numerator is scaled to
        an integer, and so is the denominator (both exact for inputs of up to 12 decimals and
        below 10^26), then rounded integer division. -#}
    {%- set num = 'cast(cast(' ~ numerator ~ ' as decimal(38, 12)) * 1000000000000 as hugeint)' -%}
    {%- set den = 'cast(cast(' ~ denominator ~ ' as decimal(38, 12)) * 1000000000000 as hugeint)' -%}
    cast(
        cast(
            sign({{ num }}) * sign({{ den }})
            * ((2 * abs({{ num }}) * {{ 10 ** scale }} + abs({{ den }})) // (2 * abs({{ den }})))
            as decimal(38, 0)
        ) * cast('{{ "%.*f" | format(scale, 10 ** (0 - scale)) }}' as decimal(38, {{ scale }}))
        as decimal(38, {{ scale }})
    )
{%- endmacro %}
