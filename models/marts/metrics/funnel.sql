-- One row per funnel_view x month x channel (docs/metrics.md "Funnel, features, KPIs"): visitors -> sign-ups ->
-- activated -> trials -> paid -> expanded. channel = the visitor's first-touch channel.
-- funnel_view 'cohorted': visitors in the month of their first visit, each stage counted if
-- the visitor ever reached it; 'by_event_month': each stage in the month it first happened.
with visitors as (select * from {{ ref('int_visitors') }}),

changes as (select * from {{ ref('fct_subscription_changes') }}),

first_expansions as (
    select
        customer_id,
        min(month) as expanded_month
    from changes
    where movement_type = 'expansion'
    group by customer_id
),

visitor_stages as (
    select
        visitors.visitor_id,
        visitors.first_touch_channel as channel,
        visitors.first_visit_month,
        cast({{ dbt.date_trunc('month', 'visitors.signed_up_at') }} as date) as signed_up_month,
        cast({{ dbt.date_trunc('month', 'visitors.activated_at') }} as date) as activated_month,
        cast({{ dbt.date_trunc('month', 'visitors.trial_started_at') }} as date) as trial_month,
        cast({{ dbt.date_trunc('month', 'visitors.first_paid_at') }} as date) as paid_month,
        first_expansions.expanded_month
    from visitors
    left join first_expansions on visitors.customer_id = first_expansions.customer_id
),

cohorted as (
    select
        'cohorted' as funnel_view,
        first_visit_month as month,  -- noqa: RF04
        channel,
        count(*) as visitors,
        count(signed_up_month) as sign_ups,
        count(activated_month) as activated,
        count(trial_month) as trials,
        count(paid_month) as paid,
        count(expanded_month) as expanded
    from visitor_stages
    where first_visit_month is not null
    group by first_visit_month, channel
),

stage_events as (
    select
        visitor_id,
        channel,
        first_visit_month as stage_month,
        'visitor' as funnel_stage
    from visitor_stages
    union all
    select
        visitor_id,
        channel,
        signed_up_month as stage_month,
        'sign_up' as funnel_stage
    from visitor_stages
    union all
    select
        visitor_id,
        channel,
        activated_month as stage_month,
        'activated' as funnel_stage
    from visitor_stages
    union all
    select
        visitor_id,
        channel,
        trial_month as stage_month,
        'trial' as funnel_stage
    from visitor_stages
    union all
    select
        visitor_id,
        channel,
        paid_month as stage_month,
        'paid' as funnel_stage
    from visitor_stages
    union all
    select
        visitor_id,
        channel,
        expanded_month as stage_month,
        'expanded' as funnel_stage
    from visitor_stages
),

by_event_month as (
    select
        'by_event_month' as funnel_view,
        stage_month as month,  -- noqa: RF04
        channel,
        count(case when funnel_stage = 'visitor' then 1 end) as visitors,
        count(case when funnel_stage = 'sign_up' then 1 end) as sign_ups,
        count(case when funnel_stage = 'activated' then 1 end) as activated,
        count(case when funnel_stage = 'trial' then 1 end) as trials,
        count(case when funnel_stage = 'paid' then 1 end) as paid,
        count(case when funnel_stage = 'expanded' then 1 end) as expanded
    from stage_events
    where stage_month is not null
    group by stage_month, channel
),

unioned as (
    select * from cohorted
    union all
    select * from by_event_month
),

final as (
    select
        funnel_view,
        month,
        channel,
        visitors,
        sign_ups,
        activated,
        trials,
        paid,
        expanded,
        {{ exact_divide('sign_ups', 'nullif(visitors, 0)') }} as visitor_to_sign_up_rate,
        {{ exact_divide('activated', 'nullif(sign_ups, 0)') }} as sign_up_to_activated_rate,
        {{ exact_divide('trials', 'nullif(activated, 0)') }} as activated_to_trial_rate,
        {{ exact_divide('paid', 'nullif(trials, 0)') }} as trial_to_paid_rate,
        {{ exact_divide('expanded', 'nullif(paid, 0)') }} as paid_to_expanded_rate,
        {{ exact_divide('trials', 'nullif(visitors, 0)') }} as visitor_to_trial_rate,
        {{ exact_divide('paid', 'nullif(visitors, 0)') }} as visitor_to_paid_rate
    from unioned
)

select * from final
