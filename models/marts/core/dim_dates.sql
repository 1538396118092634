-- One row per calendar day from the earliest to the latest day any core fact touches
-- (Stripe customers and invoices, GA4 sessions, ad spend). Weeks are ISO weeks (Monday start).
with customers as (select * from {{ ref('stg_stripe__customers') }}),

invoices as (select * from {{ ref('stg_stripe__invoices') }}),

sessions as (select * from {{ ref('fct_sessions') }}),

ad_spend as (select * from {{ ref('fct_ad_spend_daily') }}),

fact_days as (
    select cast(created_at as date) as fact_date from customers
    union all
    select cast(created_at as date) from invoices
    union all
    select session_date from sessions
    union all
    select spend_date from ad_spend
),

bounds as (
    select
        min(fact_date) as first_date,
        max(fact_date) as last_date
    from fact_days
),

spine as (
    select {{ dbt.dateadd('day', 'day_numbers.day_offset', 'bounds.first_date') }} as spine_day
    from {{ day_offsets() }} as day_numbers
    cross join bounds
    where day_numbers.day_offset <= {{ dbt.datediff('bounds.first_date', 'bounds.last_date', 'day') }}
),

calendar as (
    select
        cast(spine_day as date) as date_day,
        cast({{ dbt.date_trunc('week', 'spine_day') }} as date) as week_start_date,
        cast({{ dbt.date_trunc('month', 'spine_day') }} as date) as month_start_date,
        cast({{ dbt.date_trunc('year', 'spine_day') }} as date) as year_start_date
    from spine
),

iso as (
    select
        *,
        -- an ISO week belongs to the year of its Thursday
        cast({{ dbt.dateadd('day', 3, 'week_start_date') }} as date) as week_thursday_date
    from calendar
),

iso_years as (
    select
        *,
        cast({{ dbt.date_trunc('year', 'week_thursday_date') }} as date) as iso_year_start_date
    from iso
),

final as (
    select
        date_day,
        cast(extract(year from date_day) as bigint) as year_number,
        month_start_date,
        cast(extract(month from date_day) as bigint) as month_number,
        week_start_date,
        cast(extract(year from week_thursday_date) as bigint) as iso_year_number,
        cast(floor({{ dbt.datediff('iso_year_start_date', 'week_thursday_date', 'day') }} / 7) as integer) + 1  -- noqa: LT05
            as iso_week_number,
        year_start_date,
        cast(extract(day from date_day) as bigint) as day_of_month,
        date_day = cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'month_start_date')) }} as date)
            as is_month_end
    from iso_years
)

select * from final
