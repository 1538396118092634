{#-
    Spark's implementations of the portable macros (macros/portable/, macros/url.sql).

    ordered_sum: collect (order key, value) pairs, sort them (structs sort by their first field,
      strings in byte order), add the values left to right.
    absorption_probabilities: Spark 3.5 has no recursive CTE. The same value iteration runs per
      (conversion_type, removed_channel) in higher-order functions: the probabilities of a step
      are a map state -> probability, and each state's next value adds probability(s -> to) *
      p(to) over its transitions in to_state byte order, left to right, as the other engines
      do. A state is in a step only when one of its transitions reaches a state of the previous
      step (the inner join of the recursive versions), so absent states stay absent (null).
    url_host / slugify: Spark string literals unescape backslashes, and regexp_replace's fourth
      argument is a position, not flags (it replaces every match).
    not_materialized: nothing; Spark inlines every CTE and has no `materialized` keyword.
-#}

{% macro spark__ordered_sum(expression, order_by, text_order=false) -%}
    aggregate(
        array_sort(collect_list(case when {{ expression }} is not null then struct({{ order_by }} as k, {{ expression }} as v) end)),
        cast(null as {{ type_double() }}),
        (total, item) -> coalesce(total + item.v, item.v)
    )
{%- endmacro %}

{% macro spark__absorption_probabilities(states, probabilities, iterations) -%}
    select
        conversion_type,
        removed_channel,
        conversion_probability
    from (
        select
            conversion_type,
            removed_channel,
            element_at(
                aggregate(
                    sequence(1, {{ iterations }}),
                    map_from_arrays(
                        state_names,
                        transform(state_names, state -> cast(case when state = '(conversion)' then 1 else 0 end as double))
                    ),
                    (step, iteration) -> map_from_arrays(
                        state_names,
                        transform(
                            transitions_by_state,
                            transitions -> aggregate(
                                filter(transitions, transition -> step[transition.to_state] is not null),
                                cast(null as double),
                                (total, transition) -> coalesce(
                                    total + transition.probability * step[transition.to_state],
                                    transition.probability * step[transition.to_state]
                                )
                            )
                        )
                    )
                ),
                '(start)'
            ) as conversion_probability
        from (
            select
                conversion_type,
                removed_channel,
                state_names,
                transform(state_names, state -> filter(transitions, transition -> transition.from_state = state))
                    as transitions_by_state
            from (
                select
                    conversion_type,
                    removed_channel,
                    array_sort(collect_set(from_state)) as state_names,
                    array_sort(collect_list(struct(from_state, to_state, probability))) as transitions
                from {{ probabilities }}
                group by conversion_type, removed_channel
            ) as grouped
        ) as by_state
    ) as iterated
    where conversion_probability is not null
{%- endmacro %}

{% macro spark__not_materialized() -%}
{%- endmacro %}

{% macro spark__url_host(url) -%}
    nullif(regexp_extract(lower({{ url }}), '^[a-z]+://(www[.])?([^/:?#]+)', 2), '')
{%- endmacro %}

{% macro spark__slugify(text) -%}
    trim(both '-' from regexp_replace(lower({{ text }}), '[^a-z0-9]+', '-'))
{%- endmacro %}

{#-
    double_to_decimal on Spark (macros/portable/numbers.sql): the default's arithmetic (the
    double scaled to an integer and rounded by floor(x + 0.5)), with narrow decimals in the last
    multiply. The default's decimal(38, 0) * decimal(38, scale) is typed decimal(77, scale) by
    Spark, which cuts the scale to 6 past 38 digits: 0.333333333333333 would become 0.333333.
    decimal(19, 0) (the bigint floor gives) * decimal(scale + 1, scale) stays within 38 digits up
    to 17 decimals, so the scale is kept.
-#}

{% macro spark__double_to_decimal(expression, scale) -%}
    cast(
        cast(sign({{ expression }}) * floor(abs({{ expression }}) * cast(1e{{ scale }} as {{ type_double() }}) + 0.5)
            as decimal(19, 0))
        * cast('{{ "%.*f" | format(scale, 10 ** (0 - scale)) }}' as decimal({{ scale + 1 }}, {{ scale }}))
        as decimal(38, {{ scale }})
    )
{%- endmacro %}
