-- One row per subscription per month: the subscription's status and MRR at the month's last
-- instant, i.e. its daily value on the month's last day (month-to-date for the extract's month).
with daily as (select * from {{ ref('int_subscription_mrr_daily') }}),

days as (select * from {{ ref('int_mrr_days') }}),

final as (
    select
        daily.subscription_id,
        daily.customer_id,
        daily.currency,
        days.month,
        daily.status,
        daily.is_live,
        daily.gross_mrr_x12,
        daily.mrr_x12,
        daily.mrr_minor
    from daily
    inner join days on daily.snapshot_date = days.snapshot_date
    where days.is_month_value
)

select * from final
