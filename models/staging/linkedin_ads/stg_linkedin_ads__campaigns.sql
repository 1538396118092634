with campaigns as (
    select * from {{ source_or_empty('linkedin_ads', 'campaigns', {
            'id': 'varchar',
            'name': 'varchar',
            'status': 'varchar',
            'account_id': 'varchar',
            'currency': 'varchar',
        }) }}
),

final as (
    select
        'linkedin_ads' as platform,
        cast(id as varchar) as campaign_id,
        name as campaign_name,
        status as campaign_status,
        cast(account_id as varchar) as account_id,
        upper(currency) as currency
    from campaigns
)

select * from final
