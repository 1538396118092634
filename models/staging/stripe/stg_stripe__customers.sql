with customers as (
    select * from {{ source_or_empty('stripe', 'customers', {
            'id': 'varchar',
            'currency': 'varchar',
            'email': 'varchar',
            'name': 'varchar',
            'address__country': 'varchar',
            'metadata__user_id': 'varchar',
            'delinquent': 'boolean',
            'created': 'bigint',
        }) }}
),

final as (
    select
        id as customer_id,
        lower(currency) as currency,
        email,
        name as customer_name,
        address__country as country,
        metadata__user_id as user_id,
        delinquent as is_delinquent,
        {{ epoch_seconds_to_timestamp('created') }} as created_at
    from customers
)

select * from final
