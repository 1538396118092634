{%- set epoch = "cast('1970-01-01' as timestamp)" %}  {#- Stripe times are Unix seconds, UTC #}

with items as (
    select * from {{ source_or_empty('stripe', 'subscriptions__items__data', {
            'id': 'varchar',
            'subscription': 'varchar',
            'price__id': 'varchar',
            'price__currency': 'varchar',
            'quantity': 'bigint',
            'price__unit_amount': 'bigint',
            'plan__interval': 'varchar',
            'plan__interval_count': 'bigint',
            'plan__usage_type': 'varchar',
            'created': 'bigint',
            'current_period_start': 'bigint',
            'current_period_end': 'bigint',
        }) }}
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
        {{ dbt.dateadd('second', 'created', epoch) }} as created_at,
        {{ dbt.dateadd('second', 'current_period_start', epoch) }} as current_period_started_at,
        {{ dbt.dateadd('second', 'current_period_end', epoch) }} as current_period_ends_at
    from items
)

select * from final
