{{ config(materialized='table') }}
-- A table in a folder of views: every mart that converts money joins it.

-- One row per currency x month the marts convert (int_fx_currency_months): reporting-currency
-- units per unit of the currency (docs/metrics.md "Money"). The ECB reference rate of the month's
-- last publication day, crossed through the euro: (reporting per EUR) / (currency per EUR),
-- the euro at 1 per EUR, exact to 10 decimals (rounded half up); the reporting currency
-- (var reporting_currency) is exactly 1. The current month, before its first publication, takes
-- the latest day so far (last month's last). A currency or month with no rate stops the build
-- with "no ECB rate for <currency> in <YYYY-MM>": never a NULL amount downstream.
{%- set reporting_currency = var('reporting_currency', 'USD') | upper %}

with needed as (select * from {{ ref('int_fx_currency_months') }}),

daily_rates as (select * from {{ ref('stg_ecb_fx__daily_rates') }}),

ranked as (
    select
        currency,
        cast({{ dbt.date_trunc('month', 'rate_date') }} as date) as month,  -- noqa: RF04
        rate_date,
        currency_per_eur,
        row_number() over (
            partition by currency, {{ dbt.date_trunc('month', 'rate_date') }} order by rate_date desc
        ) as recency
    from daily_rates
),

month_last_days as (
    select
        currency,
        month,
        rate_date,
        currency_per_eur
    from ranked
    where recency = 1
),

needed_months as (
    select distinct
        month,
        is_current_month
    from needed
),

wanted as (
    -- each needed currency, and the reporting currency, in every needed month
    select
        month,
        currency,
        is_current_month
    from needed
    union
    select
        month,
        '{{ reporting_currency }}' as currency,
        is_current_month
    from needed_months
),

per_eur as (
    select
        wanted.month,
        wanted.currency,
        case
            when wanted.currency = 'EUR' then null
            when this_month.rate_date is not null then this_month.rate_date
            when wanted.is_current_month then previous_month.rate_date
        end as rate_date,
        cast(case
            when wanted.currency = 'EUR' then cast(1 as decimal(24, 10))
            when this_month.rate_date is not null then this_month.currency_per_eur
            when wanted.is_current_month then previous_month.currency_per_eur
        end as decimal(24, 10)) as currency_per_eur
    from wanted
    left join month_last_days as this_month
        on
            wanted.currency = this_month.currency
            and wanted.month = this_month.month
    left join month_last_days as previous_month
        on
            wanted.currency = previous_month.currency
            and cast({{ dbt.dateadd('month', -1, 'wanted.month') }} as date) = previous_month.month
),

crossed as (
    select
        needed.month,
        needed.currency,
        case
            when needed.currency <> '{{ reporting_currency }}' then coalesce(unit.rate_date, reporting.rate_date)
        end as rate_date,
        unit.currency_per_eur,
        reporting.currency_per_eur as reporting_per_eur,
        case
            when needed.currency = '{{ reporting_currency }}' then cast(1 as decimal(38, 10))
            else {{ exact_divide('reporting.currency_per_eur', 'unit.currency_per_eur', 10) }}
        end as reporting_per_unit,
        case
            when needed.currency = '{{ reporting_currency }}' then null
            when unit.currency_per_eur is null then needed.currency
            when reporting.currency_per_eur is null then '{{ reporting_currency }}'
        end as missing_currency
    from needed
    left join per_eur as unit
        on
            needed.month = unit.month
            and needed.currency = unit.currency
    left join per_eur as reporting
        on
            needed.month = reporting.month
            and reporting.currency = '{{ reporting_currency }}'
),

final as (
    select
        month,
        currency,
        '{{ reporting_currency }}' as reporting_currency,
        rate_date,
        currency_per_eur,
        reporting_per_eur,
        cast(case
            when missing_currency is null then reporting_per_unit
            else {{ no_fx_rate_error('missing_currency', 'month') }}
        end as decimal(38, 10)) as reporting_per_unit
    from crossed
)

select * from final
