{#- dlt creates a column only once a value arrives: columns Stripe leaves null on every object
    so far (no discount yet, no invoice marked uncollectible...) may be missing: read them as null. -#}
{%- set present = adapter.get_columns_in_relation(source('stripe', 'subscriptions')) | map(attribute='name') | list
    if execute else [] %}
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
{%- set col = {} %}
{%- for name, data_type in optional.items() %}
    {%- do col.update({name: name if name in present or not execute else 'cast(null as ' ~ data_type ~ ')'}) %}
{%- endfor %}
{%- set epoch = "cast('1970-01-01' as timestamp)" %}  {#- Stripe times are Unix seconds, UTC #}

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
        {{ dbt.dateadd('second', 'created', epoch) }} as created_at,
        {{ dbt.dateadd('second', 'start_date', epoch) }} as started_at,
        {{ dbt.dateadd('second', 'billing_cycle_anchor', epoch) }} as billing_cycle_anchor_at,
        {{ dbt.dateadd('second', col['trial_start'], epoch) }} as trial_started_at,
        {{ dbt.dateadd('second', col['trial_end'], epoch) }} as trial_ended_at,
        {{ dbt.dateadd('second', 'current_period_start', epoch) }} as current_period_started_at,
        {{ dbt.dateadd('second', 'current_period_end', epoch) }} as current_period_ends_at,
        {{ dbt.dateadd('second', col['cancel_at'], epoch) }} as cancel_at,
        {{ dbt.dateadd('second', col['canceled_at'], epoch) }} as canceled_at,
        {{ dbt.dateadd('second', col['ended_at'], epoch) }} as ended_at,
        {{ dbt.dateadd('second', col['discount__start'], epoch) }} as discount_started_at,
        {{ dbt.dateadd('second', col['discount__end'], epoch) }} as discount_ends_at
    from subscriptions
)

select * from final
