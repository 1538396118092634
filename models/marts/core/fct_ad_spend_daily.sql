with spend as (select * from {{ ref('int_ad_spend_daily') }}),

campaigns as (select * from {{ ref('dim_campaigns') }}),

final as (
    select
        spend.spend_date,
        spend.platform,
        spend.account_id,
        spend.campaign_id,
        campaigns.campaign_key,
        campaigns.campaign_name,
        campaigns.utm_campaign,
        campaigns.channel,
        spend.currency,
        spend.impressions,
        spend.clicks,
        spend.spend_amount,
        spend.spend_amount_usd,
        spend.google_ads_conversions,
        spend.meta_ads_conversions,
        spend.linkedin_ads_conversions
    from spend
    left join campaigns
        on
            spend.platform = campaigns.platform
            and spend.campaign_id = campaigns.campaign_id
)

select * from final
