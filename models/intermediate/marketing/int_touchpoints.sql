{{ config(materialized='table') }}

with sessions as (select * from {{ ref('int_ga4_sessions') }}),

identity_map as (select * from {{ ref('int_identity_map') }}),

customer_sessions as (
    select
        identity_map.customer_id,
        identity_map.user_id,
        sessions.session_key,
        sessions.user_pseudo_id,
        sessions.ga_session_id,
        sessions.session_started_at,
        sessions.session_date,
        sessions.source,
        sessions.medium,
        sessions.campaign,
        sessions.channel
    from sessions
    inner join identity_map on sessions.user_pseudo_id = identity_map.user_pseudo_id
    where identity_map.customer_id is not null
),

final as (
    select
        *,
        row_number() over (
            partition by customer_id order by session_started_at, session_key
        ) as touch_number
    from customer_sessions
)

select * from final
