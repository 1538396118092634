{#-
    absorption_probabilities(states, probabilities, iterations): value iteration of an absorbing
    Markov chain, for data-driven attribution (models/intermediate/marketing/
    int_attribution_channel_shares.sql). `states` has (conversion_type, removed_channel, state),
    `probabilities` (conversion_type, removed_channel, from_state, to_state, probability), both
    doubles. Returns a query of (conversion_type, removed_channel, conversion_probability): the
    probability of reaching '(conversion)' from '(start)' after `iterations` steps, where each
    step is p(s) = sum over to_state of probability(s -> to_state) * p(to_state), the sum added
    in to_state order (byte order) so every engine gives the same bits.

    DuckDB aggregates in the recursive step of a recursive CTE. PostgreSQL refuses aggregates
    (and GROUP BY) there, but allows window functions: each step keeps one row per transition,
    with the sum over its from_state's transitions, and the next step reads one row per state
    (is_last_of_state).
-#}

{% macro absorption_probabilities(states, probabilities, iterations) %}
    {{- return(adapter.dispatch('absorption_probabilities', 'northstar')(states, probabilities, iterations)) -}}
{% endmacro %}

{% macro default__absorption_probabilities(states, probabilities, iterations) -%}
    with recursive iterated (iteration, conversion_type, removed_channel, state, conversion_probability) as (
        select
            0 as iteration,
            conversion_type,
            removed_channel,
            state,
            cast(case when state = '(conversion)' then 1 else 0 end as {{ type_double() }}) as conversion_probability
        from {{ states }}
        union all
        select
            iterated.iteration + 1 as iteration,
            {{ probabilities }}.conversion_type,
            {{ probabilities }}.removed_channel,
            {{ probabilities }}.from_state as state,
            {{ ordered_sum(probabilities ~ '.probability * iterated.conversion_probability',
                           probabilities ~ '.to_state', text_order=true) }} as conversion_probability
        from iterated
        inner join {{ probabilities }}
            on
                iterated.conversion_type = {{ probabilities }}.conversion_type
                and iterated.removed_channel = {{ probabilities }}.removed_channel
                and iterated.state = {{ probabilities }}.to_state
        where iterated.iteration < {{ iterations }}
        group by 1, 2, 3, 4
    )

    select
        conversion_type,
        removed_channel,
        conversion_probability
    from iterated
    where iteration = {{ iterations }} and state = '(start)'
{%- endmacro %}

{% macro postgres__absorption_probabilities(states, probabilities, iterations) -%}
    with recursive iterated (
        iteration, conversion_type, removed_channel, state, is_last_of_state, conversion_probability
    ) as (
        select
            0 as iteration,
            conversion_type,
            removed_channel,
            state,
            true as is_last_of_state,
            cast(case when state = '(conversion)' then 1 else 0 end as double precision) as conversion_probability
        from {{ states }}
        union all
        select
            iterated.iteration + 1 as iteration,
            steps.conversion_type,
            steps.removed_channel,
            steps.from_state as state,
            row_number() over (
                partition by steps.conversion_type, steps.removed_channel, steps.from_state
                order by steps.to_state collate "C" desc
            ) = 1 as is_last_of_state,
            sum(steps.probability * iterated.conversion_probability) over (
                partition by steps.conversion_type, steps.removed_channel, steps.from_state
                order by steps.to_state collate "C"
                rows between unbounded preceding and unbounded following
            ) as conversion_probability
        from iterated
        inner join {{ probabilities }} as steps
            on
                iterated.conversion_type = steps.conversion_type
                and iterated.removed_channel = steps.removed_channel
                and iterated.state = steps.to_state
        where iterated.iteration < {{ iterations }} and iterated.is_last_of_state
    )

    select
        conversion_type,
        removed_channel,
        conversion_probability
    from iterated
    where iteration = {{ iterations }} and state = '(start)' and is_last_of_state
{%- endmacro %}
