-- Each conversion's touches: the customer's sessions in the lookback window before it
-- (var attribution_lookback_days), numbered from the first.
with conversions as (select * from {{ ref('int_attribution_conversions') }}),

touchpoints as (select * from {{ ref('int_touchpoints') }}),

in_window as (
    select
        conversions.conversion_key,
        conversions.customer_id,
        conversions.conversion_type,
        conversions.converted_at,
        conversions.conversion_month,
        conversions.conversion_value_usd,
        touchpoints.session_key,
        touchpoints.session_started_at,
        touchpoints.channel,
        touchpoints.source,
        touchpoints.medium,
        touchpoints.campaign,
        cast(
            {{ dbt.datediff('touchpoints.session_started_at', 'conversions.converted_at', 'second') }}
            as {{ type_double() }}
        )
        / 86400 as days_before_conversion
    from conversions
    inner join touchpoints
        on
            conversions.customer_id = touchpoints.customer_id
            and conversions.converted_at >= touchpoints.session_started_at
            and touchpoints.session_started_at > {{
                dbt.dateadd('day', -var('attribution_lookback_days'), 'conversions.converted_at') }}
),

final as (
    select
        *,
        row_number() over (partition by conversion_key order by session_started_at, session_key) as touch_number,
        count(*) over (partition by conversion_key) as touch_count
    from in_window
)

select * from final
