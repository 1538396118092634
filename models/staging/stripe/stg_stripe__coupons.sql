with coupons as (
    select * from {{ source_or_empty('stripe', 'coupons') }}
),

final as (
    select
        id as coupon_id,
        name as coupon_name,
        duration,
        duration_in_months,
        -- percent_off arrives as a JSON number; coupons allow at most 2 decimals
        cast(percent_off as decimal(9, 4)) as percent_off,
        amount_off as amount_off_minor,
        {{ to_major_units('amount_off', 'currency') }} as amount_off,
        lower(currency) as currency,
        valid as is_valid,
        {{ epoch_seconds_to_timestamp('created') }} as created_at
    from coupons
)

select * from final
