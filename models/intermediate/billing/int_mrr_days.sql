-- One row per calendar day from the first Stripe activity to the day of the newest (the
-- extract's as-of). snapshot_at = the day's end (first instant of the next day): a day's value is
-- the state after every change strictly before it. A month's value is its last day's
-- (is_month_value; for the extract's month, the last day so far: month-to-date).
with subscriptions as (select * from {{ ref('stg_stripe__subscriptions') }}),

invoices as (select * from {{ ref('stg_stripe__invoices') }}),

charges as (select * from {{ ref('stg_stripe__charges') }}),

activity as (
    select created_at as activity_at from subscriptions
    union all
    select canceled_at from subscriptions
    union all
    select ended_at from subscriptions
    union all
    select created_at from invoices
    union all
    select created_at from charges
),

bounds as (
    select
        min(activity_at) as first_activity_at,
        max(activity_at) as as_of_at
    from activity
),

digits as (
    select digit.d from (values (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)) as digit (d)
),

offsets as (
    select thousands.d * 1000 + hundreds.d * 100 + tens.d * 10 + units.d as day_offset
    from digits as thousands
    cross join digits as hundreds
    cross join digits as tens
    cross join digits as units
),

days as (
    select
        {{ dbt.dateadd('day', 'offsets.day_offset', dbt.date_trunc('day', 'bounds.first_activity_at')) }}
            as day_start_at,
        bounds.as_of_at
    from offsets
    cross join bounds
),

in_range as (
    select
        cast(day_start_at as date) as snapshot_date,
        {{ dbt.dateadd('day', 1, 'day_start_at') }} as snapshot_at,
        cast({{ dbt.date_trunc('month', 'day_start_at') }} as date) as month,  -- noqa: RF04
        as_of_at
    from days
    where day_start_at <= as_of_at
),

final as (
    select
        snapshot_date,
        snapshot_at,
        month,
        as_of_at,
        snapshot_date = max(snapshot_date) over (partition by month) as is_month_value
    from in_range
)

select * from final
