{#- MRR building blocks (docs/metrics.md "MRR"). Each definition lives here once. -#}

{% macro mrr_x12(amount, billing_interval, billing_interval_count) -%}
    {#- 12 x the monthly normalisation of an amount billed every `interval_count` `interval`s:
        a month is day x 365/12, week x 52/12, month x 1, year / 12, each / interval_count.
        Scaled by 12 every factor is an integer (365, 52, 12, 1), so sums stay exact decimals;
        divide by 12 once, at the end (`mrr_from_x12`). -#}
    {{ exact_divide(
        'cast(' ~ amount ~ ' as decimal(38, 6)) * case ' ~ billing_interval
        ~ " when 'day' then 365 when 'week' then 52 when 'month' then 12 when 'year' then 1 end",
        billing_interval_count, 6) }}
{%- endmacro %}

{% macro mrr_from_x12(amount_x12, scale=6) -%}
    {{ exact_divide(amount_x12, 12, scale) }}
{%- endmacro %}

{% macro monthly_normalised(amount, billing_interval, billing_interval_count, scale=6) -%}
    {#- An amount billed every interval_count intervals, as a monthly amount. -#}
    {{ mrr_from_x12(mrr_x12(amount, billing_interval, billing_interval_count), scale) }}
{%- endmacro %}

{% macro mrr_discounts_mode() -%}
    {%- set mode = var('mrr_discounts', 'forever') -%}
    {%- if mode not in ('forever', 'all', 'none') -%}
        {{ exceptions.raise_compiler_error("var mrr_discounts must be forever, all or none, not " ~ mode) }}
    {%- endif -%}
    {{ return(mode) }}
{%- endmacro %}

{% macro discounted_mrr_x12(mrr_x12, coupon_duration, percent_off, amount_off_x12) -%}
    {#- Apply a subscription's discount to its (x12) MRR per var mrr_discounts: percent_off
        multiplies; amount_off (already spread over the billing cycle's months, x12) is
        subtracted; with `forever` only coupons of duration forever count; never below 0. -#}
    {%- set mode = mrr_discounts_mode() -%}
    {%- if mode == 'none' -%}
    {{ mrr_x12 }}
    {%- else -%}
    greatest(
        case
            when {{ coupon_duration }} is null then {{ mrr_x12 }}
            {%- if mode == 'forever' %}
            when {{ coupon_duration }} <> 'forever' then {{ mrr_x12 }}
            {%- endif %}
            when {{ percent_off }} is not null
                then {{ mrr_x12 }} * (100 - {{ percent_off }}) * cast(0.01 as decimal(3, 2))
            else {{ mrr_x12 }} - coalesce({{ amount_off_x12 }}, 0)
        end,
        0
    )
    {%- endif -%}
{%- endmacro %}
