-- Conversions to attribute (docs/metrics.md "Attribution"): trial_start = the customer's first
-- subscription; paid = the first month with MRR > 0, valued at that month's MRR (reporting currency).
with subscriptions as (select * from {{ ref('stg_stripe__subscriptions') }}),

lifecycle as (select * from {{ ref('int_subscription_lifecycle') }}),

customer_mrr as (select * from {{ ref('int_customer_mrr_monthly') }}),

trial_starts as (
    select
        customer_id,
        'trial_start' as conversion_type,
        min(created_at) as converted_at,
        cast(0 as decimal(38, 6)) as conversion_value_usd
    from subscriptions
    group by customer_id
),

paying_months as (
    select
        customer_id,
        month,
        sum(mrr_amount_usd) as mrr_amount_usd
    from customer_mrr
    group by customer_id, month
    having sum(mrr_amount_usd) > 0
),

first_paying_months as (
    select
        customer_id,
        month,
        mrr_amount_usd,
        row_number() over (partition by customer_id order by month) as paying_month_number
    from paying_months
),

went_live as (
    select
        subscriptions.customer_id,
        lifecycle.live_from
    from lifecycle
    inner join subscriptions on lifecycle.subscription_id = subscriptions.subscription_id
    where lifecycle.live_from is not null
),

-- MRR was 0 at the end of the month before, so what is live at this month's end went live in it
paid as (
    select
        first_paying_months.customer_id,
        'paid' as conversion_type,
        coalesce(min(went_live.live_from), cast(first_paying_months.month as timestamp)) as converted_at,
        cast(first_paying_months.mrr_amount_usd as decimal(38, 6)) as conversion_value_usd
    from first_paying_months
    left join went_live
        on
            first_paying_months.customer_id = went_live.customer_id
            and went_live.live_from >= cast(first_paying_months.month as timestamp)
            and went_live.live_from < {{ dbt.dateadd('month', 1, 'cast(first_paying_months.month as timestamp)') }}
    where first_paying_months.paying_month_number = 1
    group by first_paying_months.customer_id, first_paying_months.month, first_paying_months.mrr_amount_usd
),

unioned as (
    select * from trial_starts
    union all
    select * from paid
),

final as (
    select
        customer_id || ':' || conversion_type as conversion_key,
        customer_id,
        conversion_type,
        converted_at,
        cast({{ dbt.date_trunc('month', 'converted_at') }} as date) as conversion_month,
        conversion_value_usd
    from unioned
)

select * from final
