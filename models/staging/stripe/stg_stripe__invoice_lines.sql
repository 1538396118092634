with lines as (
    select * from {{ source_or_empty('stripe', 'invoices__lines__data', {
            'id': 'varchar',
            'invoice': 'varchar',
            'subscription': 'varchar',
            'subscription_item': 'varchar',
            'type': 'varchar',
            'proration': 'boolean',
            'description': 'varchar',
            'currency': 'varchar',
            'price__id': 'varchar',
            'quantity': 'bigint',
            'amount': 'bigint',
            'price__unit_amount': 'bigint',
            'plan__interval': 'varchar',
            'plan__interval_count': 'bigint',
            'plan__usage_type': 'varchar',
            'discountable': 'boolean',
            'period__start': 'bigint',
            'period__end': 'bigint',
        }) }}
),

final as (
    select
        id as invoice_line_id,
        invoice as invoice_id,
        subscription as subscription_id,
        subscription_item as subscription_item_id,
        type as line_type,
        proration as is_proration,
        description,
        lower(currency) as currency,
        price__id as price_id,
        quantity,
        amount as amount_minor,
        {{ to_major_units('amount', 'currency') }} as amount,
        price__unit_amount as unit_amount_minor,
        {{ to_major_units('price__unit_amount', 'currency') }} as unit_amount,
        plan__interval as billing_interval,
        plan__interval_count as billing_interval_count,
        plan__usage_type as usage_type,
        discountable as is_discountable,
        {{ epoch_seconds_to_timestamp('period__start') }} as period_started_at,
        {{ epoch_seconds_to_timestamp('period__end') }} as period_ends_at
    from lines
)

select * from final
