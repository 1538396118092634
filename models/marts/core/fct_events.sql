{{
    config(
        materialized='incremental',
        unique_key='event_key',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
    )
}}

{#-
    Incremental: GA4 ingestion re-reads (replaces) the last 3 export days on each run, so only
    events of those days can be new or changed. Each run re-selects every event whose event_date
    is within 3 days of the newest already in this table and replaces them by event_key
    (delete+insert); an event's row depends on that event alone, so the result equals a full
    refresh.
-#}
{% set lookback_days = var('ga4_reread_days') %}

with events as (select * from {{ ref('stg_ga4__events') }}),

changed_events as (
    select *
    from events
    {% if is_incremental() %}
        where event_date >= {{ incremental_start_date('event_date', lookback_days) }}
    {% endif %}
),

-- GA4 events have no id: a browser's event is identified by its time and name; exact repeats
-- (same browser, microsecond and name, hence the same event_date) are numbered
numbered as (
    select
        *,
        row_number() over (
            partition by user_pseudo_id, event_timestamp_us, event_name
            order by ga_session_id, page_location, feature_name, engagement_time_msec
        ) as duplicate_number
    from changed_events
),

final as (
    select
        user_pseudo_id
        || ':' || cast(event_timestamp_us as {{ dbt.type_string() }})
        || ':' || event_name
        || ':' || cast(duplicate_number as {{ dbt.type_string() }}) as event_key,
        event_date,
        event_at,
        event_timestamp_us,
        event_name,
        user_pseudo_id,
        user_id,
        ga_session_id,
        user_pseudo_id || ':' || cast(ga_session_id as {{ dbt.type_string() }}) as session_key,
        ga_session_number,
        page_location,
        page_title,
        page_referrer,
        source,
        medium,
        campaign,
        feature_name,
        signup_method,
        engagement_time_msec,
        is_session_engaged,
        manual_source,
        manual_medium,
        manual_campaign_name,
        manual_campaign_id,
        gclid,
        device_category,
        operating_system,
        browser,
        country
    from numbered
)

select * from final
