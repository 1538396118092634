with prices as (
    select * from {{ source_or_empty('stripe', 'prices') }}
),

final as (
    select
        id as price_id,
        product as product_id,
        nickname as price_nickname,
        lookup_key,
        type as price_type,
        lower(currency) as currency,
        unit_amount as unit_amount_minor,
        {{ to_major_units('unit_amount', 'currency') }} as unit_amount,
        recurring__interval as billing_interval,
        recurring__interval_count as billing_interval_count,
        recurring__usage_type as usage_type,
        active as is_active,
        {{ epoch_seconds_to_timestamp('created') }} as created_at
    from prices
)

select * from final
