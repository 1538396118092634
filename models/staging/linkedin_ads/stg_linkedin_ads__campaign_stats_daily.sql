with stats as (
    select * from {{ source_or_empty('linkedin_ads', 'campaign_stats_daily', {
            'date': 'date',
            'account_id': 'varchar',
            'campaign_id': 'varchar',
            'currency': 'varchar',
            'impressions': 'bigint',
            'clicks': 'bigint',
            'spend': 'varchar',
            'spend_micros': 'bigint',
            'conversions': 'double',
        }) }}
),

final as (
    select
        'linkedin_ads' as platform,
        cast(date as date) as stat_date,
        cast(account_id as varchar) as account_id,
        cast(campaign_id as varchar) as campaign_id,
        upper(currency) as currency,
        cast(impressions as bigint) as impressions,
        cast(clicks as bigint) as clicks,
        cast(spend as decimal(18, 6)) as spend_amount,
        cast(spend_micros as bigint) as spend_micros,
        cast(conversions as double) as platform_conversions
    from stats
)

select * from final
