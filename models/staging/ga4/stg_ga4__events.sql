with events as (
    select
        *,
        {{ ga4_params('event_params') }} as params  -- parsed once, read by every ga4_param below
    from {{ source_or_empty('ga4', 'events') }}
),

final as (
    select
        user_pseudo_id,
        user_id,
        event_name,
        {{ ga4_param('params', 'ga_session_id', 'int') }} as ga_session_id,
        {{ ga4_param('params', 'ga_session_number', 'int') }} as ga_session_number,
        {{ epoch_microseconds_to_timestamp('event_timestamp') }} as event_at,
        event_timestamp as event_timestamp_us,
        {{ dbt.safe_cast(
            "substr(event_date, 1, 4) || '-' || substr(event_date, 5, 2) || '-' || substr(event_date, 7, 2)",
            api.Column.translate_type('date'),
        ) }} as event_date,
        {{ epoch_microseconds_to_timestamp('user_first_touch_timestamp') }} as user_first_touch_at,
        {{ ga4_param('params', 'page_location') }} as page_location,
        {{ ga4_param('params', 'page_title') }} as page_title,
        {{ ga4_param('params', 'page_referrer') }} as page_referrer,
        {{ ga4_param('params', 'source') }} as source,
        {{ ga4_param('params', 'medium') }} as medium,
        {{ ga4_param('params', 'campaign') }} as campaign,
        {{ ga4_param('params', 'feature_name') }} as feature_name,
        {{ ga4_param('params', 'method') }} as signup_method,
        {{ ga4_param('params', 'engagement_time_msec', 'int') }} as engagement_time_msec,
        coalesce({{ ga4_param('params', 'session_engaged') }} = '1', false) as is_session_engaged,
        {{ json_field('collected_traffic_source', 'manual_source') }} as manual_source,
        {{ json_field('collected_traffic_source', 'manual_medium') }} as manual_medium,
        {{ json_field('collected_traffic_source', 'manual_campaign_name') }} as manual_campaign_name,
        {{ json_field('collected_traffic_source', 'manual_campaign_id') }} as manual_campaign_id,
        {{ json_field('collected_traffic_source', 'gclid') }} as gclid,
        {{ json_field('traffic_source', 'source') }} as user_first_touch_source,
        {{ json_field('traffic_source', 'medium') }} as user_first_touch_medium,
        {{ json_field('traffic_source', 'name') }} as user_first_touch_campaign,
        {{ json_field('device', 'category') }} as device_category,
        {{ json_field('device', 'operating_system') }} as operating_system,
        {{ json_field('device', 'web_info.browser') }} as browser,
        {{ json_field('geo', 'country') }} as country,
        platform,
        stream_id
    from events
)

select * from final
