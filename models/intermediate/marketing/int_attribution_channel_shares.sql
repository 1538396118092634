{#-
    Data-driven attribution weights (docs/metrics.md): a first-order Markov chain over channel paths,
    converting (a conversion's touches in the lookback window, then "(conversion)") and
    non-converting (every other journey's sessions, then "(null)"). A channel's removal effect =
    1 - P(conversion with the channel removed) / P(conversion); shares = removal effects
    normalised to sum to 1. P(conversion) is the chain's absorption probability from "(start)",
    found by value iteration (absorbing probabilities converge geometrically).
    Sums of doubles are taken in a fixed order (macros/portable/aggregates.sql): a plain sum()
    adds in whatever order rows arrive, and the same journeys loaded in another order (or on
    another engine) would give shares differing in the last bits. The iteration itself is
    macros/portable/recursion.sql (PostgreSQL allows no aggregate in a recursive step).
-#}
{% set iterations = 300 %}

with touches as (select * from {{ ref('int_attribution_touches') }}),

conversions as (select * from {{ ref('int_attribution_conversions') }}),

sessions as (select * from {{ ref('int_ga4_sessions') }}),

identity_map as (select * from {{ ref('int_identity_map') }}),

conversion_types as (select distinct conversion_type from conversions),

journey_sessions as (
    select
        coalesce(identity_map.customer_id, identity_map.user_id, sessions.user_pseudo_id) as journey_key,
        identity_map.customer_id,
        sessions.session_key,
        sessions.session_started_at,
        sessions.channel
    from sessions
    left join identity_map on sessions.user_pseudo_id = identity_map.user_pseudo_id
),

non_converting as (
    select
        conversion_types.conversion_type,
        journey_sessions.journey_key as path_key,
        journey_sessions.channel,
        '(null)' as outcome,
        row_number() over (
            partition by conversion_types.conversion_type, journey_sessions.journey_key
            order by journey_sessions.session_started_at, journey_sessions.session_key
        ) as step,
        lead(journey_sessions.channel) over (
            partition by conversion_types.conversion_type, journey_sessions.journey_key
            order by journey_sessions.session_started_at, journey_sessions.session_key
        ) as next_channel,
        lead(1) over (
            partition by conversion_types.conversion_type, journey_sessions.journey_key
            order by journey_sessions.session_started_at, journey_sessions.session_key
        ) is null as is_last_step
    from journey_sessions
    cross join conversion_types
    left join conversions
        on
            journey_sessions.customer_id = conversions.customer_id
            and conversion_types.conversion_type = conversions.conversion_type
    where conversions.conversion_key is null
),

converting as (
    select
        conversion_type,
        conversion_key as path_key,
        channel,
        '(conversion)' as outcome,
        touch_number as step,
        lead(channel) over (partition by conversion_type, conversion_key order by touch_number) as next_channel,
        touch_number = touch_count as is_last_step
    from touches
),

path_steps as (
    select * from converting
    union all
    select * from non_converting
),

-- a path's transitions: (start) to its first channel, each channel to the next, the last to its outcome
transitions as (
    select
        conversion_type,
        '(start)' as from_state,
        channel as to_state
    from path_steps
    where step = 1
    union all
    select
        conversion_type,
        channel as from_state,
        case when is_last_step then outcome else next_channel end as to_state
    from path_steps
),

-- the chain needs only how often each transition occurs: counted once here, not once per scenario
transition_counts as (
    select
        conversion_type,
        from_state,
        to_state,
        count(*) as transition_count
    from transitions
    group by 1, 2, 3
),

channels as (
    select distinct
        conversion_type,
        to_state as channel
    from transition_counts
    where to_state not in ('(conversion)', '(null)')
),

-- scenario '(none)' is the full chain; each other scenario removes one channel
scenarios as (
    select
        conversion_type,
        '(none)' as removed_channel
    from conversion_types
    union all
    select
        conversion_type,
        channel as removed_channel
    from channels
),

scenario_transitions as (
    select
        scenarios.conversion_type,
        scenarios.removed_channel,
        transition_counts.from_state,
        case
            when transition_counts.to_state = scenarios.removed_channel then '(null)' else transition_counts.to_state
        end as to_state,
        cast(sum(transition_counts.transition_count) as bigint) as transition_count
    from scenarios
    inner join transition_counts on scenarios.conversion_type = transition_counts.conversion_type
    group by 1, 2, 3, 4
),

absorbing_states as (
    select '(conversion)' as state
    union all
    select '(null)' as state
),

probabilities as (
    select
        conversion_type,
        removed_channel,
        from_state,
        to_state,
        cast(transition_count as {{ type_double() }}) / sum(transition_count) over (
            partition by conversion_type, removed_channel, from_state
        ) as probability
    from scenario_transitions
    union all
    select
        scenarios.conversion_type,
        scenarios.removed_channel,
        absorbing_states.state as from_state,
        absorbing_states.state as to_state,
        cast(1 as {{ type_double() }}) as probability
    from scenarios
    cross join absorbing_states
),

states as (
    select distinct
        conversion_type,
        removed_channel,
        from_state as state
    from probabilities
),

absorption as (
    {{ absorption_probabilities('states', 'probabilities', iterations) }}
),

removal_effects as (
    select
        removed.conversion_type,
        removed.removed_channel as channel,
        case
            when baseline.conversion_probability > 0
                then greatest(1 - removed.conversion_probability / baseline.conversion_probability, 0)
            else 0
        end as removal_effect
    from absorption as removed
    inner join absorption as baseline
        on
            removed.conversion_type = baseline.conversion_type
            and baseline.removed_channel = '(none)'
    where removed.removed_channel <> '(none)'
),

removal_totals as (
    select
        conversion_type,
        {{ ordered_sum('removal_effect', 'channel', text_order=true) }} as total_removal_effect
    from removal_effects
    group by 1
),

final as (
    select
        removal_effects.conversion_type,
        removal_effects.channel,
        removal_effects.removal_effect,
        case
            when removal_totals.total_removal_effect > 0
                then removal_effects.removal_effect / removal_totals.total_removal_effect
            else 0
        end as channel_share
    from removal_effects
    inner join removal_totals on removal_effects.conversion_type = removal_totals.conversion_type
)

select * from final
