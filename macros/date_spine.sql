{#- Calendar days, portably (no generate_series, no recursive CTE): a cross join of digits. -#}

{% macro day_offsets(digit_count=5) -%}
    {#- A subquery of integers 0 .. 10^digit_count - 1 in column day_offset (5 digits = 273 years). -#}
    (
        select
            {%- for i in range(digit_count) %}
            d{{ i }}.d * {{ 10 ** i }}{{ ' +' if not loop.last }}
            {%- endfor %} as day_offset
        from (values (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)) as d0 (d)
        {%- for i in range(1, digit_count) %}
        cross join (values (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)) as d{{ i }} (d)
        {%- endfor %}
    )
{%- endmacro %}
