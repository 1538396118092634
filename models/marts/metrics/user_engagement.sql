{{ config(materialized='table') }}

-- One row per day: app-active users that day (DAU) and in the 30 days ending that day (MAU),
-- and their ratio, the stickiness of the product. Active = the feature_adoption definition: a
-- visitor (int_visitor_ids, a person) with an app event (a page_view of /app, a login or a
-- feature_used), so DAU, MAU and the adoption rates count the same people.
with events as (select * from {{ ref('fct_events') }}),

visitor_ids as (select * from {{ ref('int_visitor_ids') }}),

dates as (select * from {{ ref('dim_dates') }}),

active_days as (
    select distinct
        visitor_ids.visitor_id,
        events.event_date
    from events
    inner join visitor_ids on events.user_pseudo_id = visitor_ids.user_pseudo_id
    where {{ is_app_activity('events') }}
),

bounds as (
    select
        min(event_date) as first_date,
        max(event_date) as last_date
    from active_days
),

days as (
    select dates.date_day as activity_date
    from dates
    inner join bounds on dates.date_day between bounds.first_date and bounds.last_date
),

daily as (
    select
        event_date as activity_date,
        count(*) as daily_active_users
    from active_days
    group by event_date
),

monthly as (
    select
        days.activity_date,
        count(distinct active_days.visitor_id) as monthly_active_users
    from days
    inner join active_days
        on
            days.activity_date >= active_days.event_date
            and {{ dbt.dateadd('day', -30, 'days.activity_date') }} < active_days.event_date
    group by days.activity_date
),

final as (
    select
        days.activity_date,
        coalesce(daily.daily_active_users, 0) as daily_active_users,
        coalesce(monthly.monthly_active_users, 0) as monthly_active_users,
        {{ exact_divide(
            'coalesce(daily.daily_active_users, 0)',
            'nullif(monthly.monthly_active_users, 0)',
        ) }} as dau_mau_ratio
    from days
    left join daily on days.activity_date = daily.activity_date
    left join monthly on days.activity_date = monthly.activity_date
)

select * from final
