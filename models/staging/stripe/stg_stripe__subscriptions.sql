{#- Columns Stripe may not have sent yet (no discount so far...): see macros/source_or_empty.sql -#}
{%- set optional = {
    'latest_invoice': 'varchar',
    'discount__id': 'varchar',
    'discount__coupon__id': 'varchar',
    'discount__coupon__duration': 'varchar',
    'discount__coupon__percent_off': 'double',
    'discount__coupon__amount_off': 'bigint',
    'trial_start': 'bigint',
    'trial_end': 'bigint',
    'cancel_at': 'bigint',
    'canceled_at': 'bigint',
    'ended_at': 'bigint',
    'discount__start': 'bigint',
    'discount__end': 'bigint',
} %}
{%- set col = optional_columns('stripe', 'subscriptions', optional) %}

with subscriptions as (
    select * from {{ source_or_empty('stripe', 'subscriptions', {
            'id': 'varchar',
            'customer': 'varchar',
            'currency': 'varchar',
            'status': 'varchar',
            'cancel_at_period_end': 'boolean',
            'collection_method': 'varchar',
            'created': 'bigint',
            'start_date': 'bigint',
            'billing_cycle_anchor': 'bigint',
            'current_period_start': 'bigint',
            'current_period_end': 'bigint',
        }) }}
),

final as (
    select
        id as subscription_id,
        customer as customer_id,
        lower(currency) as currency,
        status,
        cancel_at_period_end,
        collection_method,
        {{ col['latest_invoice'] }} as latest_invoice_id,
        {{ col['discount__id'] }} as discount_id,
        {{ col['discount__coupon__id'] }} as coupon_id,
        {{ col['discount__coupon__duration'] }} as coupon_duration,
        cast({{ col['discount__coupon__percent_off'] }} as decimal(9, 4)) as coupon_percent_off,
        {{ col['discount__coupon__amount_off'] }} as coupon_amount_off_minor,
        {{ epoch_seconds_to_timestamp('created') }} as created_at,
        {{ epoch_seconds_to_timestamp('start_date') }} as started_at,
        {{ epoch_seconds_to_timestamp('billing_cycle_anchor') }} as billing_cycle_anchor_at,
        {{ epoch_seconds_to_timestamp(col['trial_start']) }} as trial_started_at,
        {{ epoch_seconds_to_timestamp(col['trial_end']) }} as trial_ended_at,
        {{ epoch_seconds_to_timestamp('current_period_start') }} as current_period_started_at,
        {{ epoch_seconds_to_timestamp('current_period_end') }} as current_period_ends_at,
        {{ epoch_seconds_to_timestamp(col['cancel_at']) }} as cancel_at,
        {{ epoch_seconds_to_timestamp(col['canceled_at']) }} as canceled_at,
        {{ epoch_seconds_to_timestamp(col['ended_at']) }} as ended_at,
        {{ epoch_seconds_to_timestamp(col['discount__start']) }} as discount_started_at,
        {{ epoch_seconds_to_timestamp(col['discount__end']) }} as discount_ends_at
    from subscriptions
)

select * from final
