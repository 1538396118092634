{#- Columns Stripe may not have sent yet (no discount so far...): see macros/source_or_empty.sql -#}
{%- set optional = {
    'failure_code': 'varchar',
} %}
{%- set col = optional_columns('stripe', 'charges', optional) %}

with charges as (
    select * from {{ source_or_empty('stripe', 'charges', {
            'id': 'varchar',
            'invoice': 'varchar',
            'customer': 'varchar',
            'currency': 'varchar',
            'status': 'varchar',
            'paid': 'boolean',
            'amount': 'bigint',
            'amount_refunded': 'bigint',
            'created': 'bigint',
        }) }}
),

final as (
    select
        id as charge_id,
        invoice as invoice_id,
        customer as customer_id,
        lower(currency) as currency,
        status,
        paid as is_paid,
        {{ col['failure_code'] }},
        amount as amount_minor,
        amount_refunded as amount_refunded_minor,
        {{ to_major_units('amount', 'currency') }} as amount,
        {{ to_major_units('amount_refunded', 'currency') }} as amount_refunded,
        {{ epoch_seconds_to_timestamp('created') }} as created_at
    from charges
)

select * from final
