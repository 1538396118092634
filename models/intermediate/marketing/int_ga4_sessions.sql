-- depends_on: {{ ref('channel_grouping') }}
{{
    config(
        materialized='incremental',
        unique_key='session_key',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
    )
}}

{#-
    Incremental by session. GA4 ingestion re-reads (replaces) the last 3 export days on each
    run, so a session can change only if it has an event on those days. Each run finds every
    session with an event on or after the lookback day (3 days before the newest day already
    built, one more for the property's time zone against UTC) and rebuilds it whole, from all
    its events: a session that crossed midnight (or several) into the window is re-read from
    its first event, found from the session's start already in this table. Each session's row
    depends on its own events alone, so the result equals a full refresh.
-#}
{% set lookback_days = var('ga4_reread_days') %}

{#- inlined, not computed once into a copy of every event (macros/portable/ctes.sql): each reader
    below scans the staging table with its own columns and filters -#}
with all_events as {{ not_materialized() }} (select * from {{ ref('stg_ga4__events') }}),

{% if is_incremental() %}
    {#- both bounds are computed once and inlined (macros/incremental_bounds.sql) -#}
    {%- set first_day = incremental_start_date('cast(session_ended_at as date)', lookback_days + 1) -%}
    {%- set read_from_sql -%}
        select cast({{ dbt.dateadd('day', -1, 'min(first_day)') }} as date)
        from (
            select {{ first_day }} as first_day
            union all
            select built.session_date as first_day
            from {{ this }} as built
            inner join (
                select distinct
                    user_pseudo_id,
                    ga_session_id
                from {{ ref('stg_ga4__events') }}
                where event_date >= {{ first_day }}
            ) as changed
                on built.user_pseudo_id = changed.user_pseudo_id and built.ga_session_id = changed.ga_session_id
        ) as session_starts
    {%- endset %}
    changed_sessions as (
        select distinct
            all_events.user_pseudo_id,
            all_events.ga_session_id
        from all_events
        where all_events.event_date >= {{ first_day }}
    ),

    -- where the changed sessions' events begin: the lookback day, or the start of a changed
    -- session built before it; a day earlier again for the time zone
    events as (
        select all_events.*
        from all_events
        inner join changed_sessions
            on
                all_events.user_pseudo_id = changed_sessions.user_pseudo_id
                and all_events.ga_session_id = changed_sessions.ga_session_id
        where all_events.event_date >= {{ date_literal(read_from_sql) }}
    ),
{% else %}
    events as {{ not_materialized() }} (select * from all_events),
{% endif %}

event_traffic as (
    select
        user_pseudo_id,
        ga_session_id,
        event_timestamp_us,
        event_name,
        coalesce(gclid, {{ url_query_param('page_location', 'gclid') }}) as click_gclid,
        coalesce(manual_source, source, {{ url_query_param('page_location', 'utm_source') }}) as tagged_source,
        coalesce(manual_medium, medium, {{ url_query_param('page_location', 'utm_medium') }}) as tagged_medium,
        coalesce(
            manual_campaign_name, campaign, {{ url_query_param('page_location', 'utm_campaign') }}
        ) as tagged_campaign,
        case
            when {{ url_host('page_referrer') }} <> coalesce({{ url_host('page_location') }}, '')
                then {{ url_host('page_referrer') }}
        end as external_referrer_host
    from events
    -- only events that carry a traffic signal: a gclid, a tagged source, a referrer, or a URL with
    -- a query parameter (each has an '='); the regular expressions above run on these alone
    -- (about a fifth of all events), and every other event has no source to read
    where
        gclid is not null
        or manual_source is not null
        or source is not null
        or page_referrer is not null
        or page_location like '%=%'
),

-- the traffic-source reading of each event that carries any; a gclid means Google Ads
event_sources as (
    select
        user_pseudo_id,
        ga_session_id,
        event_timestamp_us,
        event_name,
        case
            when click_gclid is not null then 'google'
            when tagged_source is not null then tagged_source
            else external_referrer_host
        end as source,
        case
            when click_gclid is not null then 'cpc'
            when tagged_source is not null then coalesce(tagged_medium, '(not set)')
            else 'referral'
        end as medium,
        tagged_campaign as campaign
    from event_traffic
    where click_gclid is not null or tagged_source is not null or external_referrer_host is not null
),

ranked_sources as (
    select
        *,
        row_number() over (
            partition by user_pseudo_id, ga_session_id
            order by event_timestamp_us, event_name, source, medium, campaign
        ) as source_rank
    from event_sources
),

first_sources as (
    select
        user_pseudo_id,
        ga_session_id,
        source,
        medium,
        campaign
    from ranked_sources
    where source_rank = 1
),

session_events as (
    select
        user_pseudo_id,
        ga_session_id,
        min(event_at) as session_started_at,
        max(event_at) as session_ended_at,
        max(ga_session_number) as ga_session_number,
        max(user_id) as user_id,
        count(*) as event_count,
        sum(case when event_name = 'page_view' then 1 else 0 end) as page_view_count,
        sum(case when event_name = 'sign_up' then 1 else 0 end) as sign_up_count,
        sum(case when event_name = 'login' then 1 else 0 end) as login_count,
        sum(case when event_name = 'activated' then 1 else 0 end) as activation_count,
        sum(case when event_name = 'feature_used' then 1 else 0 end) as feature_used_count,
        sum(coalesce(engagement_time_msec, 0)) as engagement_time_msec,
        max(case when is_session_engaged then 1 else 0 end) = 1 as is_engaged,
        max(case when ga_session_number = 1 then 1 else 0 end) = 1 as is_first_visit
    from events
    group by user_pseudo_id, ga_session_id
),

final as (
    select
        session_events.user_pseudo_id || ':'
        || cast(session_events.ga_session_id as {{ dbt.type_string() }}) as session_key,
        session_events.user_pseudo_id,
        session_events.ga_session_id,
        session_events.ga_session_number,
        session_events.user_id,
        session_events.session_started_at,
        session_events.session_ended_at,
        cast(session_events.session_started_at as date) as session_date,
        coalesce(first_sources.source, '(direct)') as source,
        coalesce(first_sources.medium, '(none)') as medium,
        first_sources.campaign,
        {{ channel_grouping("coalesce(first_sources.source, '(direct)')", "coalesce(first_sources.medium, '(none)')") }}
            as channel,
        session_events.event_count,
        session_events.page_view_count,
        session_events.sign_up_count,
        session_events.login_count,
        session_events.activation_count,
        session_events.feature_used_count,
        session_events.engagement_time_msec,
        session_events.is_engaged,
        session_events.is_first_visit
    from session_events
    left join first_sources
        on
            session_events.user_pseudo_id = first_sources.user_pseudo_id
            and session_events.ga_session_id = first_sources.ga_session_id
)

select * from final
