-- docs/metrics.md "Attribution": for every conversion month x conversion type x attribution model,
-- the attributed conversions add up to the number of conversions and the attributed value to
-- the conversions' total value, exactly (decimals; Unattributed included). A model missing
-- from a month counts as attributing nothing. Returns the combinations where it breaks.
{{ config(meta={'dagster': {'ref': {'name': 'channel_attribution'}}}) }}  -- the Dagster asset this check belongs to
{% set models = [
    'first_touch', 'last_touch', 'last_non_direct', 'linear', 'time_decay', 'position_based', 'data_driven',
] %}

with conversions as (select * from {{ ref('int_attribution_conversions') }}),

attribution as (select * from {{ ref('channel_attribution') }}),

attribution_models as (
    {% for model in models %}
        select '{{ model }}' as attribution_model{% if not loop.last %}
            union all{% endif %}
    {% endfor %}
),

totals as (
    select
        conversion_month,
        conversion_type,
        count(*) as conversions,
        coalesce(sum(conversion_value_usd), 0) as value_usd
    from conversions
    group by conversion_month, conversion_type
),

expected as (
    select
        totals.*,
        attribution_models.attribution_model
    from totals
    cross join attribution_models
),

attributed as (
    select
        conversion_month,
        conversion_type,
        attribution_model,
        sum(attributed_conversions) as attributed_conversions,
        coalesce(sum(attributed_value_usd), 0) as attributed_value_usd
    from attribution
    group by conversion_month, conversion_type, attribution_model
),

final as (
    select
        coalesce(expected.conversion_month, attributed.conversion_month) as conversion_month,
        coalesce(expected.conversion_type, attributed.conversion_type) as conversion_type,
        coalesce(expected.attribution_model, attributed.attribution_model) as attribution_model,
        expected.conversions,
        attributed.attributed_conversions,
        expected.value_usd,
        attributed.attributed_value_usd
    from expected
    full outer join attributed
        on
            expected.conversion_month is not distinct from attributed.conversion_month
            and expected.conversion_type = attributed.conversion_type
            and expected.attribution_model = attributed.attribution_model
    where
        expected.conversions is null
        or attributed.attributed_conversions is null
        or attributed.attributed_conversions <> expected.conversions
        or attributed.attributed_value_usd <> expected.value_usd
)

select * from final
