-- One row per currency x month whose money the marts convert (docs/metrics.md "Money"): every
-- currency the account bills or settles in (Stripe prices, subscriptions, invoices, charges)
-- or advertises in (each ad account's daily stats), from the first month it appears to the
-- extract's month (the newest month with any activity, is_current_month).
with prices as (select * from {{ ref('stg_stripe__prices') }}),

subscriptions as (select * from {{ ref('stg_stripe__subscriptions') }}),

invoices as (select * from {{ ref('stg_stripe__invoices') }}),

charges as (select * from {{ ref('stg_stripe__charges') }}),

google_ads as (select * from {{ ref('stg_google_ads__campaign_stats_daily') }}),

meta_ads as (select * from {{ ref('stg_meta_ads__campaign_stats_daily') }}),

linkedin_ads as (select * from {{ ref('stg_linkedin_ads__campaign_stats_daily') }}),

activity as (
    select
        currency,
        created_at as active_at
    from prices
    union all
    select
        currency,
        created_at
    from subscriptions
    union all
    select
        currency,
        canceled_at
    from subscriptions
    union all
    select
        currency,
        ended_at
    from subscriptions
    union all
    select
        currency,
        created_at
    from invoices
    union all
    select
        currency,
        created_at
    from charges
    union all
    select
        currency,
        cast(stat_date as timestamp) as active_at
    from google_ads
    union all
    select
        currency,
        cast(stat_date as timestamp) as active_at
    from meta_ads
    union all
    select
        currency,
        cast(stat_date as timestamp) as active_at
    from linkedin_ads
),

dated as (
    select
        upper(currency) as currency,
        cast({{ dbt.date_trunc('month', 'active_at') }} as date) as month  -- noqa: RF04
    from activity
    where currency is not null and active_at is not null
),

currencies as (
    select
        currency,
        min(month) as first_month
    from dated
    group by currency
),

bounds as (
    select max(month) as last_month from dated
),

months as (
    select
        currencies.currency,
        cast(
            {{ dbt.dateadd('month', 'offsets.day_offset', 'currencies.first_month') }} as date
        ) as month,  -- noqa: RF04
        bounds.last_month
    from currencies
    cross join bounds
    cross join {{ day_offsets(4) }} as offsets  -- noqa: RF04
),

final as (
    select
        month,
        currency,
        month = last_month as is_current_month
    from months
    where month <= last_month
)

select * from final
