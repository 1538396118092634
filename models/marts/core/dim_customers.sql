-- One row per Stripe customer: identity, cohort (first month with MRR > 0, the `paid`
-- conversion of int_attribution_conversions), first touch ('Unattributed' when unknown) and
-- current MRR (the latest month of int_customer_mrr_monthly: month-to-date for the extract's month).
with customers as (select * from {{ ref('stg_stripe__customers') }}),

conversions as (select * from {{ ref('int_attribution_conversions') }}),

first_touch as (select * from {{ ref('int_customer_first_touch') }}),

customer_mrr as (select * from {{ ref('int_customer_mrr_monthly') }}),

paid as (
    select
        customer_id,
        conversion_month as cohort_month,
        converted_at as first_paid_at
    from conversions
    where conversion_type = 'paid'
),

trial as (
    select
        customer_id,
        converted_at as trial_started_at
    from conversions
    where conversion_type = 'trial_start'
),

latest_month as (
    select max(month) as latest_month from customer_mrr
),

current_mrr as (
    select
        customer_mrr.customer_id,
        sum(customer_mrr.mrr_amount) as current_mrr_amount,
        sum(customer_mrr.mrr_amount_usd) as current_mrr_amount_usd
    from customer_mrr
    inner join latest_month on customer_mrr.month = latest_month.latest_month
    group by customer_mrr.customer_id
),

final as (
    select
        customers.customer_id,
        customers.user_id,
        customers.customer_name,
        customers.email,
        customers.currency,
        customers.country,
        customers.created_at,
        trial.trial_started_at,
        paid.first_paid_at,
        paid.cohort_month,
        coalesce(first_touch.channel, 'Unattributed') as first_touch_channel,
        coalesce(first_touch.source, 'Unattributed') as first_touch_source,
        coalesce(first_touch.medium, 'Unattributed') as first_touch_medium,
        case when first_touch.customer_id is null then 'Unattributed' else first_touch.campaign end
            as first_touch_campaign,
        first_touch.first_touch_at,
        coalesce(current_mrr.current_mrr_amount, 0) as current_mrr_amount,
        coalesce(current_mrr.current_mrr_amount_usd, 0) as current_mrr_amount_usd,
        coalesce(current_mrr.current_mrr_amount, 0) > 0 as is_active
    from customers
    left join trial on customers.customer_id = trial.customer_id
    left join paid on customers.customer_id = paid.customer_id
    left join first_touch on customers.customer_id = first_touch.customer_id
    left join current_mrr on customers.customer_id = current_mrr.customer_id
)

select * from final
