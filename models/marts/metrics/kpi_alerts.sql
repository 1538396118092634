-- One row per complete period x metric (docs/metrics.md "Funnel, features, KPIs"): the metric's value and its
-- status against the thresholds of seed kpi_thresholds. A period is complete when its last day
-- is on or before the last day of data (dim_dates: GA4 and ad exports come by whole days).
-- Periods where a metric is undefined (zero denominator) have no row.
{%- set conversion_window_days = var('kpi_trial_to_paid_window_days', 30) %}

with dates as (select * from {{ ref('dim_dates') }}),

conversions as (select * from {{ ref('fct_conversions') }}),

sessions as (select * from {{ ref('fct_sessions') }}),

ad_spend as (select * from {{ ref('fct_ad_spend_daily') }}),

mrr_summary as (select * from {{ ref('mrr_summary') }}),

thresholds as (select * from {{ ref('kpi_thresholds') }}),

data_range as (
    select
        min(date_day) as first_date,
        max(date_day) as data_through_date
    from dates
),

complete_weeks as (
    select distinct dates.week_start_date as period_start
    from dates
    cross join data_range
    where
        dates.week_start_date >= data_range.first_date
        and {{ dbt.dateadd('day', 6, 'dates.week_start_date') }} <= data_range.data_through_date
),

complete_months as (
    select distinct
        dates.month_start_date as period_start,
        -- trial cohorts are reported once the conversion window of their last trial has closed
        {{ dbt.dateadd('day', conversion_window_days - 1, dbt.dateadd('month', 1, 'dates.month_start_date')) }}
        <= data_range.data_through_date as is_trial_window_closed
    from dates
    cross join data_range
    where
        dates.month_start_date >= data_range.first_date
        and {{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'dates.month_start_date')) }}
        <= data_range.data_through_date
),

trials as (
    select
        customer_id,
        converted_at,
        conversion_week,
        conversion_month
    from conversions
    where conversion_type = 'trial_start'
),

paid as (
    select
        customer_id,
        converted_at,
        conversion_month
    from conversions
    where conversion_type = 'paid'
),

weekly_trials as (
    select
        conversion_week as period_start,
        count(*) as trial_count
    from trials
    group by conversion_week
),

monthly_trials as (
    -- trial cohort = the month the trial started; converted = paid within the window after it
    select
        trials.conversion_month as period_start,
        count(*) as trial_count,
        sum(case when paid.customer_id is not null then 1 else 0 end) as converted_count
    from trials
    left join paid
        on
            trials.customer_id = paid.customer_id
            and paid.converted_at <= {{ dbt.dateadd('day', conversion_window_days, 'trials.converted_at') }}
    group by trials.conversion_month
),

monthly_new_paying as (
    select
        conversion_month as period_start,
        count(*) as new_paying_count
    from paid
    group by conversion_month
),

monthly_spend as (
    select
        cast({{ dbt.date_trunc('month', 'spend_date') }} as date) as period_start,
        cast(sum(spend_amount_usd) as decimal(38, 6)) as spend_amount_usd
    from ad_spend
    group by cast({{ dbt.date_trunc('month', 'spend_date') }} as date)
),

monthly_new_visitors as (
    select
        cast({{ dbt.date_trunc('month', 'session_date') }} as date) as period_start,
        count(distinct user_pseudo_id) as new_visitor_count
    from sessions
    where is_first_visit
    group by cast({{ dbt.date_trunc('month', 'session_date') }} as date)
),

reporting_mrr as (
    select
        month as period_start,
        logo_churn_rate,
        mrr_growth_rate
    from mrr_summary
    where currency_scope = 'reporting'
),

metric_values as (
    select
        complete_weeks.period_start,
        'week' as period_grain,
        'weekly_trial_signups' as metric,
        cast(coalesce(weekly_trials.trial_count, 0) as decimal(38, 6)) as metric_value
    from complete_weeks
    left join weekly_trials on complete_weeks.period_start = weekly_trials.period_start

    union all

    select
        complete_months.period_start,
        'month' as period_grain,
        'trial_to_paid_conversion_rate' as metric,
        {{ exact_divide('monthly_trials.converted_count', 'monthly_trials.trial_count') }} as metric_value
    from complete_months
    inner join monthly_trials on complete_months.period_start = monthly_trials.period_start
    where complete_months.is_trial_window_closed

    union all

    select
        complete_months.period_start,
        'month' as period_grain,
        'monthly_logo_churn_rate' as metric,
        cast(reporting_mrr.logo_churn_rate as decimal(38, 6)) as metric_value
    from complete_months
    inner join reporting_mrr on complete_months.period_start = reporting_mrr.period_start
    where reporting_mrr.logo_churn_rate is not null

    union all

    select
        complete_months.period_start,
        'month' as period_grain,
        'mrr_growth_rate' as metric,
        cast(reporting_mrr.mrr_growth_rate as decimal(38, 6)) as metric_value
    from complete_months
    inner join reporting_mrr on complete_months.period_start = reporting_mrr.period_start
    where reporting_mrr.mrr_growth_rate is not null

    union all

    select
        complete_months.period_start,
        'month' as period_grain,
        'blended_cac_usd' as metric,
        {{ exact_divide('coalesce(monthly_spend.spend_amount_usd, 0)', 'monthly_new_paying.new_paying_count') }}
            as metric_value
    from complete_months
    inner join monthly_new_paying on complete_months.period_start = monthly_new_paying.period_start
    left join monthly_spend on complete_months.period_start = monthly_spend.period_start

    union all

    select
        complete_months.period_start,
        'month' as period_grain,
        'landing_page_conversion_rate' as metric,
        {{ exact_divide('coalesce(monthly_trials.trial_count, 0)', 'monthly_new_visitors.new_visitor_count') }}
            as metric_value
    from complete_months
    inner join monthly_new_visitors on complete_months.period_start = monthly_new_visitors.period_start
    left join monthly_trials on complete_months.period_start = monthly_trials.period_start
),

classified as (
    select
        metric_values.period_start,
        metric_values.period_grain,
        metric_values.metric,
        metric_values.metric_value,
        thresholds.direction,
        case
            when thresholds.direction = 'higher_is_better' and metric_values.metric_value < thresholds.red_bound
                then 'red'
            when thresholds.direction = 'lower_is_better' and metric_values.metric_value > thresholds.red_bound
                then 'red'
            when thresholds.direction = 'higher_is_better' and metric_values.metric_value < thresholds.yellow_bound
                then 'yellow'
            when thresholds.direction = 'lower_is_better' and metric_values.metric_value > thresholds.yellow_bound
                then 'yellow'
            when thresholds.direction = 'higher_is_better' and metric_values.metric_value > thresholds.green_bound
                then 'green'
            when thresholds.direction = 'lower_is_better' and metric_values.metric_value < thresholds.green_bound
                then 'green'
            else 'neutral'
        end as status,
        thresholds.red_bound,
        thresholds.yellow_bound,
        thresholds.green_bound
    from metric_values
    inner join thresholds on metric_values.metric = thresholds.metric
),

final as (
    select
        period_start,
        period_grain,
        metric,
        metric_value,
        status,
        case status
            when 'red' then red_bound
            when 'yellow' then yellow_bound
            when 'green' then green_bound
        end as bound_crossed,
        case
            when status = 'neutral' then null
            when (direction = 'higher_is_better') = (status = 'green') then '>'
            else '<'
        end as bound_operator,
        direction,
        period_start = max(period_start) over (partition by metric) as is_latest_period
    from classified
)

select * from final
