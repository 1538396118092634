-- One row per month x currency_scope x currency: each billing currency in its own units
-- (currency_scope = 'currency'), plus one row per month for all currencies converted to the
-- reporting currency at that month's rate (currency_scope = 'reporting'). Amounts in major
-- units; rates as decimals (docs/metrics.md "Rates").
{%- set reporting_currency = var('reporting_currency', 'USD') %}

with customer_mrr as (select * from {{ ref('int_customer_mrr_monthly') }}),

changes as (select * from {{ ref('fct_subscription_changes') }}),

customer_months as (
    select
        customer_mrr.customer_id,
        customer_mrr.month,
        customer_mrr.currency,
        customer_mrr.mrr_amount,
        customer_mrr.previous_mrr_amount,
        customer_mrr.usd_per_unit,
        changes.movement_type,
        coalesce(changes.mrr_change_amount, 0) as mrr_change_amount
    from customer_mrr
    left join changes
        on
            customer_mrr.customer_id = changes.customer_id
            and customer_mrr.currency = changes.currency
            and customer_mrr.month = changes.month
),

in_scope as (
    select
        month,
        'currency' as currency_scope,
        currency,
        customer_id,
        movement_type,
        mrr_amount,
        previous_mrr_amount,
        mrr_change_amount
    from customer_months
    union all
    select
        month,
        'reporting' as currency_scope,
        '{{ reporting_currency | upper }}' as currency,
        customer_id,
        movement_type,
        cast(mrr_amount * usd_per_unit as decimal(38, 6)) as mrr_amount,
        cast(previous_mrr_amount * usd_per_unit as decimal(38, 6)) as previous_mrr_amount,
        cast(mrr_amount * usd_per_unit as decimal(38, 6))
        - cast(previous_mrr_amount * usd_per_unit as decimal(38, 6)) as mrr_change_amount
    from customer_months
),

aggregated as (
    select
        month,
        currency_scope,
        currency,
        sum(previous_mrr_amount) as starting_mrr,
        sum(case when movement_type = 'new' then mrr_change_amount else 0 end) as new_mrr,
        sum(case when movement_type = 'reactivation' then mrr_change_amount else 0 end) as reactivation_mrr,
        sum(case when movement_type = 'expansion' then mrr_change_amount else 0 end) as expansion_mrr,
        -sum(case when movement_type = 'contraction' then mrr_change_amount else 0 end) as contraction_mrr,
        -sum(case when movement_type = 'churn' then mrr_change_amount else 0 end) as churn_mrr,
        sum(mrr_amount) as ending_mrr,
        count(case when previous_mrr_amount > 0 then 1 end) as starting_customers,
        count(case when movement_type = 'new' then 1 end) as new_customers,
        count(case when movement_type = 'reactivation' then 1 end) as reactivated_customers,
        count(case when movement_type = 'expansion' then 1 end) as expanded_customers,
        count(case when movement_type = 'contraction' then 1 end) as contracted_customers,
        count(case when movement_type = 'churn' then 1 end) as churned_customers,
        count(case when mrr_amount > 0 then 1 end) as ending_customers
    from in_scope
    group by month, currency_scope, currency
),

twelve_months_ago as (
    -- trailing-12 NRR: MRR now of the customers active 12 months ago / their MRR then
    select
        now_.month,
        now_.currency_scope,
        now_.currency,
        sum(then_.mrr_amount) as mrr_12_months_ago,
        sum(now_.mrr_amount) as mrr_now_of_those
    from in_scope as now_
    inner join in_scope as then_
        on
            now_.customer_id = then_.customer_id
            and now_.currency_scope = then_.currency_scope
            and now_.currency = then_.currency
            and then_.month = cast({{ dbt.dateadd('month', -12, 'now_.month') }} as date)
    where then_.mrr_amount > 0
    group by now_.month, now_.currency_scope, now_.currency
),

rates as (
    select
        aggregated.*,
        12 * aggregated.ending_mrr as ending_arr,
        {{ exact_divide('aggregated.ending_mrr - aggregated.starting_mrr', 'nullif(aggregated.starting_mrr, 0)') }}
            as mrr_growth_rate,
        {{ exact_divide(
            'aggregated.new_mrr + aggregated.reactivation_mrr + aggregated.expansion_mrr',
            'nullif(aggregated.contraction_mrr + aggregated.churn_mrr, 0)') }} as quick_ratio,
        {{ exact_divide('aggregated.churned_customers', 'nullif(aggregated.starting_customers, 0)') }}
            as logo_churn_rate,
        -- the same at 12 decimals, for LTV (6-decimal rates would leak rounding into it)
        {{ exact_divide('aggregated.churned_customers', 'nullif(aggregated.starting_customers, 0)', 12) }}
            as precise_logo_churn_rate,
        {{ exact_divide('aggregated.contraction_mrr + aggregated.churn_mrr', 'nullif(aggregated.starting_mrr, 0)') }}
            as gross_mrr_churn_rate,
        {{ exact_divide(
            'aggregated.starting_mrr - aggregated.contraction_mrr - aggregated.churn_mrr',
            'nullif(aggregated.starting_mrr, 0)') }} as gross_revenue_retention,
        {{ exact_divide(
            'aggregated.starting_mrr + aggregated.expansion_mrr - aggregated.contraction_mrr - aggregated.churn_mrr',
            'nullif(aggregated.starting_mrr, 0)') }} as net_revenue_retention,
        {{ exact_divide('twelve_months_ago.mrr_now_of_those', 'nullif(twelve_months_ago.mrr_12_months_ago, 0)') }}
            as trailing_12_month_net_revenue_retention,
        {{ exact_divide('aggregated.ending_mrr', 'nullif(aggregated.ending_customers, 0)') }} as arpa
    from aggregated
    left join twelve_months_ago
        on
            aggregated.month = twelve_months_ago.month
            and aggregated.currency_scope = twelve_months_ago.currency_scope
            and aggregated.currency = twelve_months_ago.currency
),

with_trailing_churn as (
    select
        *,
        -- mean of the months' rates (months without a rate skipped), without floating point
        {{ exact_divide(
            'sum(precise_logo_churn_rate) over trailing_3_months',
            'nullif(count(precise_logo_churn_rate) over trailing_3_months, 0)', 12) }}
            as trailing_3_month_logo_churn_rate
    from rates
    window trailing_3_months as (
        partition by currency_scope, currency order by month rows between 2 preceding and current row
    )
),

final as (
    select
        month,
        currency_scope,
        currency,
        starting_mrr,
        new_mrr,
        reactivation_mrr,
        expansion_mrr,
        contraction_mrr,
        churn_mrr,
        ending_mrr,
        ending_arr,
        starting_customers,
        new_customers,
        reactivated_customers,
        expanded_customers,
        contracted_customers,
        churned_customers,
        ending_customers,
        mrr_growth_rate,
        quick_ratio,
        logo_churn_rate,
        gross_mrr_churn_rate,
        gross_revenue_retention,
        net_revenue_retention,
        trailing_12_month_net_revenue_retention,
        arpa,
        cast(trailing_3_month_logo_churn_rate as decimal(38, 6)) as trailing_3_month_logo_churn_rate,
        {{ exact_divide(
            'arpa * cast(' ~ var('gross_margin', 1.0) ~ ' as decimal(9, 6))',
            'nullif(trailing_3_month_logo_churn_rate, 0)') }} as ltv
    from with_trailing_churn
)

select * from final
