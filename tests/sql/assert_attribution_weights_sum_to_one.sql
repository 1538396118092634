-- docs/metrics.md "Attribution": each conversion's weights sum to exactly 1 (decimals) for every
-- attribution model, and every conversion has weights under every model. Returns the
-- conversion x model pairs where it breaks.
{{ config(meta={'dagster': {'ref': {'name': 'int_attribution_weights'}}}) }}  -- the Dagster asset this check belongs to
{% set models = [
    'first_touch', 'last_touch', 'last_non_direct', 'linear', 'time_decay', 'position_based', 'data_driven',
] %}

with conversions as (select * from {{ ref('int_attribution_conversions') }}),

weights as (select * from {{ ref('int_attribution_weights') }}),

attribution_models as (
    {% for model in models %}
        select '{{ model }}' as attribution_model{% if not loop.last %}
            union all{% endif %}
    {% endfor %}
),

weight_sums as (
    select
        conversion_key,
        attribution_model,
        sum(weight) as total_weight
    from weights
    group by conversion_key, attribution_model
),

final as (
    select
        conversions.conversion_key,
        attribution_models.attribution_model,
        weight_sums.total_weight
    from conversions
    cross join attribution_models
    left join weight_sums
        on
            conversions.conversion_key = weight_sums.conversion_key
            and attribution_models.attribution_model = weight_sums.attribution_model
    where weight_sums.total_weight is null or weight_sums.total_weight <> 1
)

select * from final
