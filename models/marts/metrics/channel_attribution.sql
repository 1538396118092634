with weights as (select * from {{ ref('int_attribution_weights') }}),

final as (
    select
        conversion_month,
        conversion_type,
        attribution_model,
        channel,
        sum(weight) as attributed_conversions,
        sum(attributed_value_usd) as attributed_value_usd,
        count(distinct conversion_key) as touched_conversions
    from weights
    group by conversion_month, conversion_type, attribution_model, channel
)

select * from final
