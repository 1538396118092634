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

-- A visitor is in a day's MAU while their latest active day is at most 29 days back. So each
-- active day opens a span that ends where the visitor's next active day opens the next one, or
-- lapses 30 days on, whichever comes first: a visitor's spans never overlap, and a day's MAU
-- is the number of spans open on it, +1 on the day a span opens and -1 on the day it ends,
-- summed over the days up to it (one row per date with a change: a few hundred, whatever the
-- volume). Joining each active day to the 30 days it counts in, then counting distinct
-- visitors per day, made 30 rows of each: 17 s of a large-scale build.
spans as (
    select
        event_date as opens_on,
        cast({{ dbt.dateadd('day', 30, 'event_date') }} as date) as lapses_on,
        lead(event_date) over (partition by visitor_id order by event_date) as next_active_date
    from active_days
),

span_changes as (
    select
        opens_on as change_date,
        1 as users_change
    from spans
    union all
    select
        case when next_active_date < lapses_on then next_active_date else lapses_on end as change_date,
        -1 as users_change
    from spans
),

daily_changes as (
    select
        change_date,
        sum(users_change) as users_change
    from span_changes
    group by change_date
),

monthly as (
    select
        days.activity_date,
        cast(sum(daily_changes.users_change) as bigint) as monthly_active_users
    from days
    inner join daily_changes on days.activity_date >= daily_changes.change_date
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
