with campaigns as (select * from {{ source('meta_ads', 'campaigns') }}),

final as (
    select
        'meta_ads' as platform,
        cast(id as varchar) as campaign_id,
        name as campaign_name,
        status as campaign_status,
        cast(account_id as varchar) as account_id,
        upper(currency) as currency
    from campaigns
)

select * from final
