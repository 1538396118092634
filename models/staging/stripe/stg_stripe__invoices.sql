{#- Columns Stripe may not have sent yet (no discount so far...): see macros/source_or_empty.sql -#}
{%- set optional = {
    'charge': 'varchar',
    'discount__id': 'varchar',
    'discount__coupon__id': 'varchar',
    'discount__coupon__duration': 'varchar',
    'discount__coupon__percent_off': 'double',
    'discount__coupon__amount_off': 'bigint',
    'discount__start': 'bigint',
    'discount__end': 'bigint',
    'status_transitions__paid_at': 'bigint',
    'status_transitions__marked_uncollectible_at': 'bigint',
} %}
{%- set col = optional_columns('stripe', 'invoices', optional) %}

with invoices as (
    select * from {{ source_or_empty('stripe', 'invoices', {
            'id': 'varchar',
            'customer': 'varchar',
            'subscription': 'varchar',
            'currency': 'varchar',
            'billing_reason': 'varchar',
            'status': 'varchar',
            'attempt_count': 'bigint',
            'subtotal': 'bigint',
            'tax': 'bigint',
            'total': 'bigint',
            'total_excluding_tax': 'bigint',
            'amount_due': 'bigint',
            'amount_paid': 'bigint',
            'created': 'bigint',
            'period_start': 'bigint',
            'period_end': 'bigint',
            'status_transitions__finalized_at': 'bigint',
        }) }}
),

final as (
    select
        id as invoice_id,
        customer as customer_id,
        subscription as subscription_id,
        lower(currency) as currency,
        billing_reason,
        status,
        attempt_count,
        {{ col['charge'] }} as charge_id,
        subtotal as subtotal_minor,
        tax as tax_minor,
        total as total_minor,
        total_excluding_tax as total_excluding_tax_minor,
        amount_due as amount_due_minor,
        amount_paid as amount_paid_minor,
        {{ to_major_units('subtotal', 'currency') }} as subtotal_amount,
        {{ to_major_units('tax', 'currency') }} as tax_amount,
        {{ to_major_units('total', 'currency') }} as total_amount,
        {{ to_major_units('total_excluding_tax', 'currency') }} as total_excluding_tax_amount,
        {{ to_major_units('amount_paid', 'currency') }} as amount_paid_amount,
        {{ col['discount__id'] }} as discount_id,
        {{ col['discount__coupon__id'] }} as coupon_id,
        {{ col['discount__coupon__duration'] }} as coupon_duration,
        cast({{ col['discount__coupon__percent_off'] }} as decimal(9, 4)) as coupon_percent_off,
        {{ col['discount__coupon__amount_off'] }} as coupon_amount_off_minor,
        {{ epoch_seconds_to_timestamp(col['discount__start']) }} as discount_started_at,
        {{ epoch_seconds_to_timestamp(col['discount__end']) }} as discount_ends_at,
        {{ epoch_seconds_to_timestamp('created') }} as created_at,
        {{ epoch_seconds_to_timestamp('period_start') }} as period_started_at,
        {{ epoch_seconds_to_timestamp('period_end') }} as period_ends_at,
        {{ epoch_seconds_to_timestamp('status_transitions__finalized_at') }} as finalized_at,
        {{ epoch_seconds_to_timestamp(col['status_transitions__paid_at']) }} as paid_at,
        {{ epoch_seconds_to_timestamp(col['status_transitions__marked_uncollectible_at']) }}
            as marked_uncollectible_at
    from invoices
)

select * from final
