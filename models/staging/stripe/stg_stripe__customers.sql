with customers as (
    select * from {{ source_or_empty('stripe', 'customers') }}
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
