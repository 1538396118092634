-- One row per day x currency: MRR at the day's last instant (docs/metrics.md "MRR": a daily
-- series uses the end of each day) and the customers with MRR > 0 then.
with subscription_mrr as (select * from {{ ref('int_subscription_mrr_daily') }}),

days as (select * from {{ ref('int_mrr_days') }}),

fx_rates as (select * from {{ ref('int_fx_rates_monthly') }}),

customer_days as (
    select
        customer_id,
        currency,
        snapshot_date,
        cast(sum(mrr_x12) as decimal(38, 6)) as mrr_x12
    from subscription_mrr
    group by customer_id, currency, snapshot_date
),

currency_days as (
    select
        currency,
        snapshot_date,
        cast(sum(mrr_x12) as decimal(38, 6)) as mrr_x12,
        cast(sum(case when mrr_x12 > 0 then 1 else 0 end) as bigint) as active_customers
    from customer_days
    group by currency, snapshot_date
),

final as (
    select
        currency_days.snapshot_date as mrr_date,
        currency_days.currency,
        currency_days.mrr_x12,
        {{ mrr_from_x12(to_major_units('currency_days.mrr_x12', 'currency_days.currency', 8)) }} as mrr_amount,
        cast(
            {{ mrr_from_x12(to_major_units('currency_days.mrr_x12', 'currency_days.currency', 8)) }}
            * fx_rates.reporting_per_unit
            as decimal(38, 6)
        ) as mrr_amount_usd,
        currency_days.active_customers
    from currency_days
    inner join days on currency_days.snapshot_date = days.snapshot_date
    left join fx_rates
        on
            days.month = fx_rates.month
            and upper(currency_days.currency) = fx_rates.currency
)

select * from final
