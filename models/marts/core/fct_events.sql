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

{#- inlined (macros/portable/ctes.sql): the three readers below each scan the staging table once -#}
with changed_events as {{ not_materialized() }} (
    select *
    from {{ ref('stg_ga4__events') }}
    {% if is_incremental() %}
        where event_date >= {{ incremental_start_date('event_date', lookback_days) }}
    {% endif %}
),

-- GA4 events have no id: a browser's event is identified by its time and name; exact repeats
-- (same browser, microsecond and name, hence the same event_date) are numbered. Repeats are
-- rare (3 in 13.6 M events at make bench's large scale), so only they are numbered: a
-- row_number over every event sorted all of them, wide rows and all, to number nearly every
-- one 1 (at that scale, the model alone: 42-50 s that way, 14-19 s this way)
repeated_keys as (
    select
        user_pseudo_id,
        event_timestamp_us,
        event_name
    from changed_events
    group by user_pseudo_id, event_timestamp_us, event_name
    having count(*) > 1
),

numbered as (
    select
        changed_events.*,
        1 as duplicate_number
    from changed_events
    left join repeated_keys
        on
            changed_events.user_pseudo_id = repeated_keys.user_pseudo_id
            and changed_events.event_timestamp_us = repeated_keys.event_timestamp_us
            and changed_events.event_name = repeated_keys.event_name
    where repeated_keys.user_pseudo_id is null
    union all
    select
        changed_events.*,
        row_number() over (
            partition by changed_events.user_pseudo_id, changed_events.event_timestamp_us, changed_events.event_name
            -- by every column a repeat can differ in, so that each run numbers them alike
            order by
                changed_events.ga_session_id,
                changed_events.ga_session_number,
                changed_events.user_id,
                changed_events.page_location,
                changed_events.page_title,
                changed_events.page_referrer,
                changed_events.source,
                changed_events.medium,
                changed_events.campaign,
                changed_events.feature_name,
                changed_events.signup_method,
                changed_events.engagement_time_msec,
                changed_events.is_session_engaged,
                changed_events.manual_source,
                changed_events.manual_medium,
                changed_events.manual_campaign_name,
                changed_events.manual_campaign_id,
                changed_events.gclid,
                changed_events.device_category,
                changed_events.operating_system,
                changed_events.browser,
                changed_events.country
        ) as duplicate_number
    from changed_events
    inner join repeated_keys
        on
            changed_events.user_pseudo_id = repeated_keys.user_pseudo_id
            and changed_events.event_timestamp_us = repeated_keys.event_timestamp_us
            and changed_events.event_name = repeated_keys.event_name
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
