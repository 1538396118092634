with items as (
    select * from {{ source_or_empty('stripe', 'subscriptions__items__data') }}
),

final as (
    select
        id as subscription_item_id,
        subscription as subscription_id,
        price__id as price_id,
        lower(price__currency) as currency,
        quantity,
        price__unit_amount as unit_amount_minor,
        {{ to_major_units('price__unit_amount', 'price__currency') }} as unit_amount,
        plan__interval as billing_interval,
        plan__interval_count as billing_interval_count,
        plan__usage_type as usage_type,
        {{ epoch_seconds_to_timestamp('created') }} as created_at,
        {{ epoch_seconds_to_timestamp('current_period_start') }} as current_period_started_at,
        {{ epoch_seconds_to_timestamp('current_period_end') }} as current_period_ends_at
    from items
)

select * from final
