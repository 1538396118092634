{#- dlt creates a column only once a value arrives: columns Stripe leaves null on every object
    so far (no discount yet, no invoice marked uncollectible...) may be missing: read them as null. -#}
{%- set present = adapter.get_columns_in_relation(source('stripe', 'coupons')) | map(attribute='name') | list
    if execute else [] %}
{%- set optional = {
    'duration_in_months': 'bigint',
    'percent_off': 'double',
    'amount_off': 'bigint',
    'currency': 'varchar',
} %}
{%- set col = {} %}
{%- for name, data_type in optional.items() %}
    {%- do col.update({name: name if name in present or not execute else 'cast(null as ' ~ data_type ~ ')'}) %}
{%- endfor %}
{%- set epoch = "cast('1970-01-01' as timestamp)" %}  {#- Stripe times are Unix seconds, UTC #}

with coupons as (
    select * from {{ source_or_empty('stripe', 'coupons', {
            'id': 'varchar',
            'name': 'varchar',
            'duration': 'varchar',
            'valid': 'boolean',
            'created': 'bigint',
        }) }}
),

final as (
    select
        id as coupon_id,
        name as coupon_name,
        duration,
        {{ col['duration_in_months'] }} as duration_in_months,
        -- percent_off arrives as a JSON number; coupons allow at most 2 decimals
        cast({{ col['percent_off'] }} as decimal(9, 4)) as percent_off,
        {{ col['amount_off'] }} as amount_off_minor,
        {{ to_major_units(col['amount_off'], col['currency']) }} as amount_off,
        lower({{ col['currency'] }}) as currency,
        valid as is_valid,
        {{ dbt.dateadd('second', 'created', epoch) }} as created_at
    from coupons
)

select * from final
