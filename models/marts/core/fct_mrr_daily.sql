-- One row per day x currency: MRR at the day's last instant (docs/metrics.md "MRR": a daily
-- series uses the end of each day) and the customers with MRR > 0 then.
with subscription_mrr as (select * from {{ ref('int_subscription_mrr_daily') }}),

days as (select * from {{ ref('int_mrr_days') }}),

fx_rates as (select * from {{ ref('int_fx_rates_monthly') }}),

-- Only the rows with MRR: three in four are canceled subscriptions' days at 0 (they stay, one
-- a day, in int_subscription_mrr_daily), which add nothing to a sum or to the customers with
-- MRR > 0, yet were grouped by customer and day. Every (currency, day) with a row still has its
-- row here (currencies_present), with 0 when none of its subscriptions had MRR.
customer_days as (
    select
        customer_id,
        currency,
        snapshot_date,
        cast(sum(mrr_x12) as decimal(38, 6)) as mrr_x12
    from subscription_mrr
    where mrr_x12 <> 0
    group by customer_id, currency, snapshot_date
),

currencies_present as (
    select distinct
        currency,
        snapshot_date
    from subscription_mrr
),

currency_totals as (
    select
        currency,
        snapshot_date,
        sum(mrr_x12) as mrr_x12,  -- typed once, in currency_days
        sum(case when mrr_x12 > 0 then 1 else 0 end) as active_customers
    from customer_days
    group by currency, snapshot_date
),

currency_days as (
    select
        currencies_present.currency,
        currencies_present.snapshot_date,
        cast(coalesce(currency_totals.mrr_x12, 0) as decimal(38, 6)) as mrr_x12,
        cast(coalesce(currency_totals.active_customers, 0) as bigint) as active_customers
    from currencies_present
    left join currency_totals
        on
            currencies_present.currency = currency_totals.currency
            and currencies_present.snapshot_date = currency_totals.snapshot_date
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
