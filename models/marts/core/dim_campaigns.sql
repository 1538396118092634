-- depends_on: {{ ref('channel_grouping') }}

with google_ads as (select * from {{ ref('stg_google_ads__campaigns') }}),

meta_ads as (select * from {{ ref('stg_meta_ads__campaigns') }}),

linkedin_ads as (select * from {{ ref('stg_linkedin_ads__campaigns') }}),

utm_mapping as (select * from {{ ref('campaign_utm_mapping') }}),

campaigns as (
    select * from google_ads
    union all
    select * from meta_ads
    union all
    select * from linkedin_ads
),

tagged as (
    select
        campaigns.platform,
        campaigns.campaign_id,
        campaigns.campaign_name,
        campaigns.campaign_status,
        campaigns.account_id,
        campaigns.currency,
        -- the utm_source / utm_medium each platform's ads are tagged with (auto-tagging conventions)
        case campaigns.platform
            when 'google_ads' then 'google'
            when 'meta_ads' then 'facebook'
            when 'linkedin_ads' then 'linkedin'
        end as utm_source,
        case campaigns.platform
            when 'google_ads' then 'cpc'
            else 'paid_social'
        end as utm_medium,
        coalesce(utm_mapping.utm_campaign, {{ slugify('campaigns.campaign_name') }}) as utm_campaign,
        utm_mapping.utm_campaign is not null as has_utm_exception
    from campaigns
    left join utm_mapping
        on
            campaigns.platform = utm_mapping.platform
            and campaigns.campaign_id = utm_mapping.campaign_id
),

final as (
    select
        platform || ':' || campaign_id as campaign_key,
        *,
        {{ channel_grouping('utm_source', 'utm_medium') }} as channel
    from tagged
)

select * from final
