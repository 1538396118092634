-- One row per visitor (int_visitor_ids) and per converted customer never seen in GA4: when
-- each growth stage first happened. First touch = the visitor's first session over all its
-- browsers; its channel is the visitor's acquisition channel ('Unattributed' without one).
with sessions as (select * from {{ ref('int_ga4_sessions') }}),

events as (select * from {{ ref('stg_ga4__events') }}),

visitor_ids as (select * from {{ ref('int_visitor_ids') }}),

conversions as (select * from {{ ref('int_attribution_conversions') }}),

visitor_sessions as (
    select
        visitor_ids.visitor_id,
        sessions.session_key,
        sessions.session_started_at,
        sessions.channel,
        row_number() over (
            partition by visitor_ids.visitor_id order by sessions.session_started_at, sessions.session_key
        ) as session_number
    from sessions
    inner join visitor_ids on sessions.user_pseudo_id = visitor_ids.user_pseudo_id
),

first_touches as (
    select
        visitor_id,
        session_started_at as first_visit_at,
        channel as first_touch_channel
    from visitor_sessions
    where session_number = 1
),

stage_events as (
    select
        visitor_ids.visitor_id,
        min(case when events.event_name = 'sign_up' then events.event_at end) as signed_up_at,
        min(case when events.event_name = 'activated' then events.event_at end) as activated_at
    from events
    inner join visitor_ids on events.user_pseudo_id = visitor_ids.user_pseudo_id
    where events.event_name in ('sign_up', 'activated')
    group by visitor_ids.visitor_id
),

customer_stages as (
    select
        customer_id,
        min(case when conversion_type = 'trial_start' then converted_at end) as trial_started_at,
        min(case when conversion_type = 'paid' then converted_at end) as first_paid_at
    from conversions
    group by customer_id
),

visitor_keys as (
    select visitor_id from first_touches
    union
    select customer_id as visitor_id from customer_stages
),

final as (
    select
        visitor_keys.visitor_id,
        customer_stages.customer_id,
        first_touches.first_visit_at,
        cast({{ dbt.date_trunc('month', 'first_touches.first_visit_at') }} as date) as first_visit_month,
        coalesce(first_touches.first_touch_channel, 'Unattributed') as first_touch_channel,
        stage_events.signed_up_at,
        stage_events.activated_at,
        customer_stages.trial_started_at,
        customer_stages.first_paid_at
    from visitor_keys
    left join first_touches on visitor_keys.visitor_id = first_touches.visitor_id
    left join stage_events on visitor_keys.visitor_id = stage_events.visitor_id
    left join customer_stages on visitor_keys.visitor_id = customer_stages.customer_id
)

select * from final
