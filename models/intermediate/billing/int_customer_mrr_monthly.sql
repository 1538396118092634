-- One row per customer x currency x month, from the customer's first subscription month to the
-- extract's month: MRR at the month's last instant (sum over the customer's subscriptions),
-- last month's MRR and whether the customer had MRR > 0 in any month before.
with subscription_mrr as (select * from {{ ref('int_subscription_mrr_monthly') }}),

fx_rates as (select * from {{ ref('int_fx_rates_monthly') }}),

summed as (
    select
        customer_id,
        currency,
        month,
        cast(sum(mrr_x12) as decimal(38, 6)) as mrr_x12,
        max(case when status in ('active', 'past_due') then 1 else 0 end) = 1 as has_live_subscription
    from subscription_mrr
    group by customer_id, currency, month
),

with_history as (
    select
        *,
        cast(coalesce(lag(mrr_x12) over (partition by customer_id, currency order by month), 0) as decimal(38, 6))
            as previous_mrr_x12,
        coalesce(
            max(case when mrr_x12 > 0 then 1 else 0 end) over (
                partition by customer_id, currency order by month rows between unbounded preceding and 1 preceding
            ),
            0
        ) = 1 as had_mrr_before
    from summed
),

rates as (
    -- value of one unit of each currency in the reporting currency, per month
    select
        fx_rates.month,
        lower(fx_rates.currency) as currency,
        fx_rates.reporting_per_unit as usd_per_unit
    from fx_rates
),

final as (
    select
        with_history.customer_id,
        with_history.currency,
        with_history.month,
        with_history.mrr_x12,
        with_history.previous_mrr_x12,
        {{ mrr_from_x12('with_history.mrr_x12') }} as mrr_minor,
        {{ mrr_from_x12(to_major_units('with_history.mrr_x12', 'with_history.currency', 8)) }} as mrr_amount,
        {{ mrr_from_x12(to_major_units('with_history.previous_mrr_x12', 'with_history.currency', 8)) }}
            as previous_mrr_amount,
        {#- MRR x 12 below 10^12 major units, a rate below 10^7: the product's 18 decimals kept -#}
        {{ mrr_from_x12(exact_multiply(
            to_major_units('with_history.mrr_x12', 'with_history.currency', 8), 'rates.usd_per_unit',
            'decimal(20, 8)', 'decimal(17, 10)')) }} as mrr_amount_usd,
        rates.usd_per_unit,
        with_history.mrr_x12 > 0 as is_active,
        with_history.had_mrr_before,
        with_history.has_live_subscription
    from with_history
    left join rates
        on
            with_history.month = rates.month
            and with_history.currency = rates.currency
)

select * from final
