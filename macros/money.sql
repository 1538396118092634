{#- Money: Stripe amounts are integers in the currency's minor unit (docs/metrics.md "Money"). -#}

{% macro currency_exponent(currency) -%}
    {#- Decimal places of a currency's minor unit: seed currency_exponents lists every currency
        whose minor unit is not 2 digits (Stripe's zero- and three-decimal currencies), every
        other has 2. The seed's rows are compiled into a CASE (no join in the models) at
        execution time (macros/seeds.sql: the built seed, else its CSV file); at parse time
        every model that uses this macro gets the seed as a parent, so `dbt build` seeds first. -#}
    {%- if not execute -%}
        {%- do ref('currency_exponents') -%}
        {{ return('2') }}
    {%- endif -%}
    {%- set seed = seed_from('currency_exponents', 'currency_exponent()') -%}
    {%- set by_exponent = {} -%}
    {%- if seed is not none -%}
        {%- set rows = run_query(
            "select exponent, upper(currency) from " ~ seed ~ " where exponent <> 2 order by exponent, upper(currency)") -%}
        {%- for row in rows.rows -%}
            {%- do by_exponent.setdefault(row[0] | int, []).append(row[1] | replace("'", "''")) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if not by_exponent -%}
        {{ return('2') }}
    {%- endif -%}
    case
    {%- for exponent, currencies in by_exponent.items() %}
        when upper({{ currency }}) in ('{{ currencies | join("', '") }}') then {{ exponent }}
    {%- endfor %}
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
    {{ return(adapter.dispatch('exact_divide', 'northstar')(numerator, denominator, scale)) }}
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

{% macro postgres__exact_divide(numerator, denominator, scale) -%}
    {#- PostgreSQL's numeric division rounds its quotient to ~16 significant digits before
        round() rounds again: divide integers instead (div() truncates, exactly; numeric
        without a precision holds any size), rounded half away from zero as DuckDB's. -#}
    {%- set num = 'cast(cast(' ~ numerator ~ ' as decimal(38, 12)) * 1000000000000 as numeric)' -%}
    {%- set den = 'cast(cast(' ~ denominator ~ ' as decimal(38, 12)) * 1000000000000 as numeric)' -%}
    cast(
        sign({{ num }}) * sign({{ den }})
        * div(2 * abs({{ num }}) * {{ 10 ** scale }} + abs({{ den }}), 2 * abs({{ den }}))
        * cast('{{ "%.*f" | format(scale, 10 ** (0 - scale)) }}' as decimal(38, {{ scale }}))
        as decimal(38, {{ scale }})
    )
{%- endmacro %}

{% macro exact_multiply(left, right, left_type, right_type) -%}
    {#- left * right with every digit of both scales (DuckDB's decimal(38, s1 + s2), PostgreSQL's
        numeric). `left_type` and `right_type` are the narrowest decimals that hold each side
        (precisions adding up to 37 at most): engines that type a product by adding the
        precisions (Spark) need them to keep the scale (macros/spark/money.sql). -#}
    {{ return(adapter.dispatch('exact_multiply', 'northstar')(left, right, left_type, right_type)) }}
{%- endmacro %}

{% macro default__exact_multiply(left, right, left_type, right_type) -%}
    ({{ left }}) * ({{ right }})
{%- endmacro %}
