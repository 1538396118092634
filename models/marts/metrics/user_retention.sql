-- One row per cohort_week x weeks_since_first_visit (docs/metrics.md "Cohorts", product
-- user retention). Cohort = the week (dbt.date_trunc 'week') of a visitor's first GA4 session
-- (int_visitors); a visitor is active in week k if any of its browsers has a session that
-- week. Weeks are listed while they have started by the last session date. day_N_retention
-- (N = 1, 7, 30, 90) is a cohort value repeated on each of its rows: the share of the cohort's
-- visitors whose first-visit date + N is on or before the last session date who had a session
-- on exactly that day.
with sessions as (select * from {{ ref('int_ga4_sessions') }}),

visitor_ids as (select * from {{ ref('int_visitor_ids') }}),

visitors as (select * from {{ ref('int_visitors') }}),

cohort_members as (
    select
        visitor_id,
        cast(first_visit_at as date) as first_visit_date,
        cast({{ dbt.date_trunc('week', 'first_visit_at') }} as date) as cohort_week
    from visitors
    where first_visit_at is not null
),

activity_days as (
    select distinct
        visitor_ids.visitor_id,
        sessions.session_date as activity_date
    from sessions
    inner join visitor_ids on sessions.user_pseudo_id = visitor_ids.user_pseudo_id
),

data_end as (
    select max(activity_date) as last_activity_date from activity_days
),

member_activity as (
    select
        cohort_members.visitor_id,
        cohort_members.cohort_week,
        cohort_members.first_visit_date,
        activity_days.activity_date,
        {{ dbt.datediff('cohort_members.first_visit_date', 'activity_days.activity_date', 'day') }}
            as days_since_first_visit,
        -- bigint: dbt's datediff in weeks is an integer on PostgreSQL
        cast({{ dbt.datediff(
            'cohort_members.cohort_week',
            'cast(' ~ dbt.date_trunc('week', 'activity_days.activity_date') ~ ' as date)',
            'week') }} as bigint) as weeks_since_first_visit
    from cohort_members
    inner join activity_days on cohort_members.visitor_id = activity_days.visitor_id
),

cohorts as (
    select
        cohort_week,
        count(*) as cohort_users
    from cohort_members
    group by cohort_week
),

week_numbers as (
    select distinct weeks_since_first_visit from member_activity
),

cohort_weeks as (
    select
        cohorts.cohort_week,
        cohorts.cohort_users,
        week_numbers.weeks_since_first_visit
    from cohorts
    cross join week_numbers
    cross join data_end
    where
        {{ dbt.dateadd('day', '7 * week_numbers.weeks_since_first_visit', 'cohorts.cohort_week') }}
        <= data_end.last_activity_date
),

weekly_active as (
    select
        cohort_week,
        weeks_since_first_visit,
        count(distinct visitor_id) as active_users
    from member_activity
    group by cohort_week, weeks_since_first_visit
),

day_numbers as (
    select day_values.day_number
    from (values (1), (7), (30), (90)) as day_values (day_number)
),

-- a visitor is eligible for day N once first-visit date + N has been observed
day_n_members as (
    select
        cohort_members.cohort_week,
        cohort_members.visitor_id,
        day_numbers.day_number,
        case when exists (
            select 1 from member_activity
            where
                member_activity.visitor_id = cohort_members.visitor_id
                and member_activity.days_since_first_visit = day_numbers.day_number
        ) then 1 else 0 end as is_retained
    from cohort_members
    cross join day_numbers
    cross join data_end
    where
        {{ dbt.dateadd('day', 'day_numbers.day_number', 'cohort_members.first_visit_date') }}
        <= data_end.last_activity_date
),

day_n_rates as (
    select
        cohort_week,
        day_number,
        {{ exact_divide('sum(is_retained)', 'count(*)') }} as retention_rate
    from day_n_members
    group by cohort_week, day_number
),

day_n as (
    select
        cohort_week,
        max(case when day_number = 1 then retention_rate end) as day_1_retention,
        max(case when day_number = 7 then retention_rate end) as day_7_retention,
        max(case when day_number = 30 then retention_rate end) as day_30_retention,
        max(case when day_number = 90 then retention_rate end) as day_90_retention
    from day_n_rates
    group by cohort_week
),

final as (
    select
        cohort_weeks.cohort_week,
        cohort_weeks.weeks_since_first_visit,
        cohort_weeks.cohort_users,
        coalesce(weekly_active.active_users, 0) as active_users,
        {{ exact_divide('coalesce(weekly_active.active_users, 0)', 'cohort_weeks.cohort_users') }} as retention_rate,
        day_n.day_1_retention,
        day_n.day_7_retention,
        day_n.day_30_retention,
        day_n.day_90_retention
    from cohort_weeks
    left join weekly_active
        on
            cohort_weeks.cohort_week = weekly_active.cohort_week
            and cohort_weeks.weeks_since_first_visit = weekly_active.weeks_since_first_visit
    left join day_n on cohort_weeks.cohort_week = day_n.cohort_week
)

select * from final
