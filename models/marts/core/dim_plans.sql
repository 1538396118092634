-- One row per Stripe price: its product, tier, billing interval and amount, and the amount
-- normalised to a month with the MRR macro (docs/metrics.md "MRR"; null for metered and one-off prices).
with prices as (select * from {{ ref('stg_stripe__prices') }}),

final as (
    select
        price_id,
        product_id,
        coalesce(price_nickname, lookup_key, price_id) as tier_name,
        lookup_key,
        price_type,
        billing_interval,
        billing_interval_count,
        usage_type,
        currency,
        unit_amount_minor,
        unit_amount,
        cast(case
            when billing_interval is not null and coalesce(usage_type, 'licensed') = 'licensed'
                then {{ monthly_normalised('unit_amount', 'billing_interval', 'billing_interval_count') }}
        end as decimal(38, 6)) as monthly_unit_amount,
        is_active,
        created_at
    from prices
)

select * from final
