{#-
    Attribution weights (docs/metrics.md "Attribution"), written once for every model. Grain: one row
    per conversion x attribution model x touch; a conversion without a touch in the lookback gets
    one 'Unattributed' row of weight 1. Weights are DECIMAL(38, 18) and sum to exactly 1 per
    conversion and model: every touch but the last takes its weight rounded to 15 decimals
    (so 0.1 stays 0.1, not the double's 0.1000000000000000055), the last takes 1 - the others.
    Totals of doubles are summed in touch order (macros/portable/aggregates.sql), so the same
    touches loaded in another order, or on another engine, give the same bits; every division
    is in double on every engine (PostgreSQL would divide the literals as numeric).
-#}
{% set models = [
    'first_touch', 'last_touch', 'last_non_direct', 'linear', 'time_decay', 'position_based', 'data_driven',
] %}

with conversions as (select * from {{ ref('int_attribution_conversions') }}),

touches as (select * from {{ ref('int_attribution_touches') }}),

channel_shares as (select * from {{ ref('int_attribution_channel_shares') }}),

attribution_models as (
    {% for model in models %}
        select '{{ model }}' as attribution_model{% if not loop.last %}
            union all{% endif %}
    {% endfor %}
),

touch_facts as (
    select
        touches.*,
        coalesce(channel_shares.channel_share, 0) as channel_share,
        coalesce(
            max(case when touches.channel <> 'Direct' then touches.touch_number end) over (
                partition by touches.conversion_key
            ),
            touches.touch_count
        ) as last_non_direct_number,
        power(2.0, -touches.days_before_conversion / {{ var('attribution_half_life_days') }}) as decay
    from touches
    left join channel_shares
        on
            touches.conversion_type = channel_shares.conversion_type
            and touches.channel = channel_shares.channel
),

conversion_totals as (
    select
        conversion_key,
        {{ ordered_sum('decay', 'touch_number') }} as total_decay,
        {{ ordered_sum('channel_share', 'touch_number') }} as total_share
    from touch_facts
    group by conversion_key
),

touch_totals as (
    select
        touch_facts.*,
        conversion_totals.total_decay,
        conversion_totals.total_share
    from touch_facts
    inner join conversion_totals on touch_facts.conversion_key = conversion_totals.conversion_key
),

raw_weights as (
    select
        touch_totals.*,
        attribution_models.attribution_model,
        case attribution_models.attribution_model
            when 'first_touch' then case when touch_totals.touch_number = 1 then 1.0 else 0.0 end
            when 'last_touch' then case when touch_totals.touch_number = touch_totals.touch_count then 1.0 else 0.0 end
            when
                'last_non_direct'
                then case when touch_totals.touch_number = touch_totals.last_non_direct_number then 1.0 else 0.0 end
            when 'linear' then cast(1 as {{ type_double() }}) / touch_totals.touch_count
            when 'time_decay' then touch_totals.decay / touch_totals.total_decay
            when 'position_based'
                then
                    case
                        when touch_totals.touch_count = 1 then 1.0
                        when touch_totals.touch_count = 2 then 0.5
                        when
                            touch_totals.touch_number = 1 or touch_totals.touch_number = touch_totals.touch_count
                            then 0.4
                        else cast(0.2 as {{ type_double() }}) / (touch_totals.touch_count - 2)
                    end
            when 'data_driven' then
                -- channels without removal effect on every touch: fall back to linear
                case
                    when touch_totals.total_share > 0 then touch_totals.channel_share / touch_totals.total_share else
                        cast(1 as {{ type_double() }}) / touch_totals.touch_count
                end
        end as raw_weight
    from touch_totals
    cross join attribution_models
),

exact_weights as (
    select
        *,
        cast(case
            when touch_number < touch_count then cast({{ double_to_decimal('raw_weight', 15) }} as decimal(38, 18))
            else 1 - coalesce(sum(cast({{ double_to_decimal('raw_weight', 15) }} as decimal(38, 18))) over (
                partition by conversion_key, attribution_model
                order by touch_number
                rows between unbounded preceding and 1 preceding
            ), 0)
        end as decimal(38, 18)) as weight
    from raw_weights
),

attributed as (
    select
        conversion_key,
        customer_id,
        conversion_type,
        converted_at,
        conversion_month,
        conversion_value_usd,
        attribution_model,
        touch_number,
        session_key,
        channel,
        source,
        medium,
        campaign,
        weight
    from exact_weights
),

unattributed as (
    select
        conversions.conversion_key,
        conversions.customer_id,
        conversions.conversion_type,
        conversions.converted_at,
        conversions.conversion_month,
        conversions.conversion_value_usd,
        attribution_models.attribution_model,
        0 as touch_number,
        cast(null as {{ dbt.type_string() }}) as session_key,
        'Unattributed' as channel,
        cast(null as {{ dbt.type_string() }}) as source,
        cast(null as {{ dbt.type_string() }}) as medium,
        cast(null as {{ dbt.type_string() }}) as campaign,
        cast(1 as decimal(38, 18)) as weight
    from conversions
    cross join attribution_models
    where not exists (
        select 1 from touches
        where touches.conversion_key = conversions.conversion_key
    )
),

final as (
    select
        *,
        -- decimal(38, 24): a weight lies in [0, 1], a conversion's value is below 10^12 USD
        {{ exact_multiply('weight', 'conversion_value_usd', 'decimal(19, 18)', 'decimal(18, 6)') }}
            as attributed_value_usd
    from (
        select * from attributed
        union all
        select * from unattributed
    ) as all_weights
)

select * from final
