-- One row per customer x conversion type (trial_start, paid): docs/metrics.md "Attribution"
-- conversions, as int_attribution_conversions defines them, with the customer's first touch.
with conversions as (select * from {{ ref('int_attribution_conversions') }}),

customers as (select * from {{ ref('dim_customers') }}),

final as (
    select
        conversions.conversion_key,
        conversions.customer_id,
        conversions.conversion_type,
        conversions.converted_at,
        cast(conversions.converted_at as date) as conversion_date,
        cast({{ dbt.date_trunc('week', 'conversions.converted_at') }} as date) as conversion_week,
        conversions.conversion_month,
        conversions.conversion_value_usd,
        customers.currency,
        customers.first_touch_channel
    from conversions
    left join customers on conversions.customer_id = customers.customer_id
)

select * from final
