{{
    config(
        materialized='incremental',
        unique_key='session_key',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
    )
}}

{#-
    Incremental: GA4 ingestion re-reads (replaces) the last 3 export days on each run, so only
    sessions with an event on those days can change. Each run rebuilds, whole, every session
    whose last event day is within 3 days of the newest already in this table; sessions are
    always recomputed from all their events (int_ga4_sessions), never from a partial window,
    so the result equals a full refresh.
-#}
{% set lookback_days = 3 %}

with sessions as (select * from {{ ref('int_ga4_sessions') }}),

campaigns as (select * from {{ ref('dim_campaigns') }}),

changed_sessions as (
    select *
    from sessions
    {% if is_incremental() %}
        where cast(session_ended_at as date) >= {{ incremental_start_date('last_event_date', lookback_days) }}
    {% endif %}
),

final as (
    select
        changed_sessions.session_key,
        changed_sessions.user_pseudo_id,
        changed_sessions.ga_session_id,
        changed_sessions.ga_session_number,
        changed_sessions.user_id,
        changed_sessions.session_started_at,
        changed_sessions.session_ended_at,
        changed_sessions.session_date,
        cast(changed_sessions.session_ended_at as date) as last_event_date,
        -- bigint: dbt's datediff in seconds is a numeric on PostgreSQL
        cast(
            {{ dbt.datediff('changed_sessions.session_started_at', 'changed_sessions.session_ended_at', 'second') }}
            as bigint
        ) as duration_seconds,
        changed_sessions.source,
        changed_sessions.medium,
        changed_sessions.campaign,
        changed_sessions.channel,
        campaigns.campaign_key,
        campaigns.platform as ad_platform,
        campaigns.campaign_id as ad_campaign_id,
        changed_sessions.event_count,
        -- bigint, as the contract says: DuckDB sums integers into a hugeint, PostgreSQL sums
        -- bigints into a numeric
        cast(changed_sessions.page_view_count as bigint) as page_view_count,
        cast(changed_sessions.sign_up_count as bigint) as sign_up_count,
        cast(changed_sessions.login_count as bigint) as login_count,
        cast(changed_sessions.activation_count as bigint) as activation_count,
        cast(changed_sessions.feature_used_count as bigint) as feature_used_count,
        cast(changed_sessions.engagement_time_msec as bigint) as engagement_time_msec,
        changed_sessions.is_engaged,
        changed_sessions.is_first_visit
    from changed_sessions
    left join campaigns
        on
            changed_sessions.source = campaigns.utm_source
            and changed_sessions.medium = campaigns.utm_medium
            and changed_sessions.campaign = campaigns.utm_campaign
)

select * from final
