-- Renames and casts only; the shared definition: macros/ad_platform_staging.sql
{{ stg_ad_campaign_stats_daily('linkedin_ads') }}
