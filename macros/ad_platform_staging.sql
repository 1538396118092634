{#-
    The three ad platforms' raw tables have one shape (ingestion/common/ad_platform.py), so their
    staging models are one definition each, called with the platform's name.
-#}

{% macro stg_ad_campaigns(platform) -%}
with campaigns as (
    select * from {{ source_or_empty(platform, 'campaigns') }}
),

final as (
    select
        '{{ platform }}' as platform,
        cast(id as {{ dbt.type_string() }}) as campaign_id,
        name as campaign_name,
        status as campaign_status,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        upper(currency) as currency
    from campaigns
)

select * from final
{%- endmacro %}


{% macro stg_ad_campaign_stats_daily(platform) -%}
with stats as (
    select * from {{ source_or_empty(platform, 'campaign_stats_daily') }}
),

final as (
    select
        '{{ platform }}' as platform,
        cast(date as date) as stat_date,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(campaign_id as {{ dbt.type_string() }}) as campaign_id,
        upper(currency) as currency,
        cast(impressions as bigint) as impressions,
        cast(clicks as bigint) as clicks,
        cast(spend as decimal(18, 6)) as spend_amount,
        cast(spend_micros as bigint) as spend_micros,
        cast(conversions as {{ type_double() }}) as platform_conversions
    from stats
)

select * from final
{%- endmacro %}
