{#- dlt creates a column only once a value arrives: columns Stripe leaves null on every object
    so far (no discount yet, no invoice marked uncollectible...) may be missing: read them as null. -#}
{%- set present = adapter.get_columns_in_relation(source('stripe', 'charges')) | map(attribute='name') | list
    if execute else [] %}
{%- set optional = {
    'failure_code': 'varchar',
} %}
{%- set col = {} %}
{%- for name, data_type in optional.items() %}
    {%- do col.update({name: name if name in present or not execute else 'cast(null as ' ~ data_type ~ ')'}) %}
{%- endfor %}
{%- set epoch = "cast('1970-01-01' as timestamp)" %}  {#- Stripe times are Unix seconds, UTC #}

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
        {{ dbt.dateadd('second', 'created', epoch) }} as created_at
    from charges
)

select * from final
