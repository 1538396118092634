with weights as (select * from {{ ref('int_attribution_weights') }}),

final as (
    select
        conversion_month,
        conversion_type,
        attribution_model,
        channel,
        coalesce(source, '(none)') as source,
        coalesce(medium, '(none)') as medium,
        coalesce(campaign, '(none)') as campaign,
        sum(weight) as attributed_conversions,
        sum(attributed_value_usd) as attributed_value_usd
    from weights
    group by 1, 2, 3, 4, 5, 6, 7
)

select * from final
