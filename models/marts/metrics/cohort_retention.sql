-- One row per cohort_month x months_since_start x channel (docs/metrics.md "Cohorts").
-- Cohort = the month of a customer's first month-end with MRR > 0; channel = the customer's
-- first-touch channel ('Unattributed' when unknown) plus an 'All channels' row. Money in the
-- reporting currency at the cohort month's rate (constant currency: FX moves do not show as
-- retention).
with customer_mrr as (select * from {{ ref('int_customer_mrr_monthly') }}),

first_touch as (select * from {{ ref('int_customer_first_touch') }}),

customer_months as (
    -- a customer bills in one currency; sum in case of several, each at its own rate
    select
        customer_id,
        month,
        currency,
        mrr_amount,
        usd_per_unit
    from customer_mrr
),

cohorts as (
    select
        customer_id,
        min(month) as cohort_month
    from customer_months
    where mrr_amount > 0
    group by customer_id
),

cohort_rates as (
    select
        customer_months.customer_id,
        customer_months.currency,
        customer_months.usd_per_unit as cohort_usd_per_unit
    from customer_months
    inner join cohorts
        on
            customer_months.customer_id = cohorts.customer_id
            and customer_months.month = cohorts.cohort_month
),

customer_progress as (
    select
        cohorts.customer_id,
        cohorts.cohort_month,
        customer_months.month,
        -- bigint: dbt's datediff in months is a double on PostgreSQL
        cast(
            {{ dbt.datediff('cohorts.cohort_month', 'customer_months.month', 'month') }} as bigint  -- noqa: LT05
        ) as months_since_start,
        sum(
            cast(customer_months.mrr_amount * cohort_rates.cohort_usd_per_unit as decimal(38, 6))
        ) as mrr_amount_usd
    from cohorts
    inner join customer_months
        on
            cohorts.customer_id = customer_months.customer_id
            and cohorts.cohort_month <= customer_months.month
    inner join cohort_rates
        on
            customer_months.customer_id = cohort_rates.customer_id
            and customer_months.currency = cohort_rates.currency
    group by cohorts.customer_id, cohorts.cohort_month, customer_months.month
),

with_start as (
    select
        customer_progress.*,
        first_value(customer_progress.mrr_amount_usd) over (
            partition by customer_progress.customer_id order by customer_progress.month
        ) as starting_mrr_amount_usd,
        coalesce(first_touch.channel, 'Unattributed') as channel
    from customer_progress
    left join first_touch on customer_progress.customer_id = first_touch.customer_id
),

by_channel as (
    select
        cohort_month,
        months_since_start,
        channel,
        customer_id,
        mrr_amount_usd,
        starting_mrr_amount_usd
    from with_start
    union all
    select
        cohort_month,
        months_since_start,
        'All channels' as channel,
        customer_id,
        mrr_amount_usd,
        starting_mrr_amount_usd
    from with_start
),

aggregated as (
    select
        cohort_month,
        months_since_start,
        channel,
        count(*) as cohort_customers,
        sum(starting_mrr_amount_usd) as cohort_starting_mrr_amount_usd,
        count(case when mrr_amount_usd > 0 then 1 end) as active_customers,
        sum(mrr_amount_usd) as mrr_amount_usd,
        sum(case
            when mrr_amount_usd < starting_mrr_amount_usd then mrr_amount_usd else starting_mrr_amount_usd
        end) as capped_mrr_amount_usd
    from by_channel
    group by cohort_month, months_since_start, channel
),

final as (
    select
        cohort_month,
        months_since_start,
        channel,
        cohort_customers,
        cohort_starting_mrr_amount_usd,
        active_customers,
        mrr_amount_usd,
        capped_mrr_amount_usd,
        {{ exact_divide('active_customers', 'nullif(cohort_customers, 0)') }} as logo_retention,
        {{ exact_divide('mrr_amount_usd', 'nullif(cohort_starting_mrr_amount_usd, 0)') }} as net_revenue_retention,
        {{ exact_divide('capped_mrr_amount_usd', 'nullif(cohort_starting_mrr_amount_usd, 0)') }}
            as gross_revenue_retention
    from aggregated
)

select * from final
