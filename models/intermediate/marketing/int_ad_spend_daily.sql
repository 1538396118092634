with google_ads as (select * from {{ ref('stg_google_ads__campaign_stats_daily') }}),

meta_ads as (select * from {{ ref('stg_meta_ads__campaign_stats_daily') }}),

linkedin_ads as (select * from {{ ref('stg_linkedin_ads__campaign_stats_daily') }}),

fx_rates as (select * from {{ ref('int_fx_rates_monthly') }}),

unioned as (
    select * from google_ads
    union all
    select * from meta_ads
    union all
    select * from linkedin_ads
),

final as (
    select
        unioned.stat_date as spend_date,
        unioned.platform,
        unioned.account_id,
        unioned.campaign_id,
        unioned.currency,
        unioned.impressions,
        unioned.clicks,
        unioned.spend_amount,
        cast(unioned.spend_amount * fx_rates.reporting_per_unit as decimal(18, 6)) as spend_amount_usd,
        -- platform-reported conversions, one column a platform so they are never summed across
        case when unioned.platform = 'google_ads' then unioned.platform_conversions end as google_ads_conversions,
        case when unioned.platform = 'meta_ads' then unioned.platform_conversions end as meta_ads_conversions,
        case when unioned.platform = 'linkedin_ads' then unioned.platform_conversions end as linkedin_ads_conversions
    from unioned
    left join fx_rates
        on
            cast({{ dbt.date_trunc('month', 'unioned.stat_date') }} as date) = fx_rates.month
            and unioned.currency = fx_rates.currency
)

select * from final
