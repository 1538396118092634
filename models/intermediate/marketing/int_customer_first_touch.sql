with touchpoints as (select * from {{ ref('int_touchpoints') }}),

final as (
    select
        customer_id,
        user_id,
        session_key as first_touch_session_key,
        session_started_at as first_touch_at,
        channel,
        source,
        medium,
        campaign
    from touchpoints
    where touch_number = 1
)

select * from final
