-- One row per feature x month (docs/metrics.md "Funnel, features, KPIs") over the month's active users:
-- visitors (int_visitor_ids) with an app event in the month (a page_view of /app, a login or a
-- feature_used). Each state is as of the month's end, among that month's active users:
-- discovered = viewed the app or used the feature by then (the app shows every feature; the
-- sandbox's page_views carry no feature_name), tried = used it at least once, adopted = 3+ uses,
-- habitual = used it in at least 3 of the last 4 weeks (7-day windows ending on the month's
-- last day).
with events as (select * from {{ ref('fct_events') }}),

visitor_ids as (select * from {{ ref('int_visitor_ids') }}),

app_events as (
    select
        visitor_ids.visitor_id,
        events.event_name,
        events.feature_name,
        events.event_at,
        events.event_date,
        events.event_name = 'page_view' as is_app_view
    from events
    inner join visitor_ids on events.user_pseudo_id = visitor_ids.user_pseudo_id
    where {{ is_app_activity('events') }}
),

active_users as (
    select distinct
        cast({{ dbt.date_trunc('month', 'event_date') }} as date) as month,  -- noqa: RF04
        visitor_id
    from app_events
),

months as (
    select
        month,
        cast({{ dbt.last_day('month', 'month') }} as date) as month_end_date,
        count(*) as active_users
    from active_users
    group by month
),

features as (
    select distinct feature_name
    from app_events
    where event_name = 'feature_used' and feature_name is not null
),

first_app_views as (
    select
        visitor_id,
        min(event_date) as first_app_view_date
    from app_events
    where is_app_view
    group by visitor_id
),

feature_uses as (
    select
        visitor_id,
        feature_name,
        event_date
    from app_events
    where event_name = 'feature_used'
),

candidates as (
    select
        active_users.month,
        months.month_end_date,
        active_users.visitor_id,
        features.feature_name
    from active_users
    inner join months on active_users.month = months.month
    cross join features
),

candidate_uses as (
    select
        candidates.month,
        candidates.feature_name,
        candidates.visitor_id,
        feature_uses.event_date,
        {{ dbt.datediff('feature_uses.event_date', 'candidates.month_end_date', 'day') }} as days_before_month_end  -- noqa: LT05
    from candidates
    left join feature_uses
        on
            candidates.visitor_id = feature_uses.visitor_id
            and candidates.feature_name = feature_uses.feature_name
            and candidates.month_end_date >= feature_uses.event_date
),

-- week 0 = the 7 days ending on the month's last day, week 3 = days 21 to 27 before it
user_feature_months as (
    select
        month,
        feature_name,
        visitor_id,
        count(event_date) as uses_to_date,
        count(distinct case
            when days_before_month_end < 7 then 0
            when days_before_month_end < 14 then 1
            when days_before_month_end < 21 then 2
            when days_before_month_end < 28 then 3
        end) as weeks_used_of_last_4
    from candidate_uses
    group by month, feature_name, visitor_id
),

user_states as (
    select
        user_feature_months.month,
        user_feature_months.feature_name,
        user_feature_months.visitor_id,
        (
            first_app_views.first_app_view_date <= months.month_end_date
            or user_feature_months.uses_to_date > 0
        ) as has_discovered,
        user_feature_months.uses_to_date >= 1 as has_tried,
        user_feature_months.uses_to_date >= 3 as has_adopted,
        user_feature_months.weeks_used_of_last_4 >= 3 as is_habitual
    from user_feature_months
    inner join months on user_feature_months.month = months.month
    left join first_app_views on user_feature_months.visitor_id = first_app_views.visitor_id
),

aggregated as (
    select
        user_states.feature_name,
        user_states.month,
        months.active_users,
        count(case when user_states.has_discovered then 1 end) as discovered_users,
        count(case when user_states.has_tried then 1 end) as tried_users,
        count(case when user_states.has_adopted then 1 end) as adopted_users,
        count(case when user_states.is_habitual then 1 end) as habitual_users
    from user_states
    inner join months on user_states.month = months.month
    group by user_states.feature_name, user_states.month, months.active_users
),

final as (
    select
        feature_name,
        month,
        active_users,
        discovered_users,
        tried_users,
        adopted_users,
        habitual_users,
        {{ exact_divide('discovered_users', 'nullif(active_users, 0)') }} as discovery_rate,
        {{ exact_divide('tried_users', 'nullif(active_users, 0)') }} as trial_rate,
        {{ exact_divide('adopted_users', 'nullif(active_users, 0)') }} as adoption_rate,
        {{ exact_divide('habitual_users', 'nullif(active_users, 0)') }} as habitual_rate
    from aggregated
)

select * from final
