-- Stripe API versions (macros/stripe_versions.sql): coalesce(newer path, 2024-06-20 path).
--   current period: on the items since 2025-03-31.basil (the span of them all), before on the
--     subscription;
--   discount: the first expanded `discounts` entry (basil dropped the single `discount`).
with subscriptions as (
    select * from {{ source_or_empty('stripe', 'subscriptions') }}
),

items as (
    select * from {{ source_or_empty('stripe', 'subscriptions__items__data') }}
),

applied_discounts as (
    {{ stripe_applied_discounts('subscriptions__discounts') }}
),

item_periods as (
    select
        _dlt_parent_id,
        min(current_period_start) as current_period_start,
        max(current_period_end) as current_period_end
    from items
    group by _dlt_parent_id
),

versioned as (
    select
        subscriptions.*,
        coalesce(item_periods.current_period_start, subscriptions.current_period_start)
            as period_start,
        coalesce(item_periods.current_period_end, subscriptions.current_period_end) as period_end,
        coalesce(applied_discounts.discount_id, subscriptions.discount__id) as applied_discount_id,
        coalesce(applied_discounts.coupon_id, subscriptions.discount__coupon__id) as applied_coupon_id,
        coalesce(applied_discounts.coupon_duration, subscriptions.discount__coupon__duration)
            as applied_coupon_duration,
        coalesce(applied_discounts.coupon_percent_off, subscriptions.discount__coupon__percent_off)
            as applied_coupon_percent_off,
        coalesce(applied_discounts.coupon_amount_off, subscriptions.discount__coupon__amount_off)
            as applied_coupon_amount_off,
        coalesce(applied_discounts.discount_start, subscriptions.discount__start) as applied_discount_start,
        coalesce(applied_discounts.discount_end, subscriptions.discount__end) as applied_discount_end
    from subscriptions
    left join item_periods on subscriptions._dlt_id = item_periods._dlt_parent_id
    left join applied_discounts on subscriptions._dlt_id = applied_discounts._dlt_parent_id
),

final as (
    select
        id as subscription_id,
        customer as customer_id,
        lower(currency) as currency,
        status,
        cancel_at_period_end,
        collection_method,
        latest_invoice as latest_invoice_id,
        applied_discount_id as discount_id,
        applied_coupon_id as coupon_id,
        applied_coupon_duration as coupon_duration,
        cast(applied_coupon_percent_off as decimal(9, 4)) as coupon_percent_off,
        applied_coupon_amount_off as coupon_amount_off_minor,
        {{ epoch_seconds_to_timestamp('created') }} as created_at,
        {{ epoch_seconds_to_timestamp('start_date') }} as started_at,
        {{ epoch_seconds_to_timestamp('billing_cycle_anchor') }} as billing_cycle_anchor_at,
        {{ epoch_seconds_to_timestamp('trial_start') }} as trial_started_at,
        {{ epoch_seconds_to_timestamp('trial_end') }} as trial_ended_at,
        {{ epoch_seconds_to_timestamp('period_start') }} as current_period_started_at,
        {{ epoch_seconds_to_timestamp('period_end') }} as current_period_ends_at,
        {{ epoch_seconds_to_timestamp('cancel_at') }} as cancel_at,
        {{ epoch_seconds_to_timestamp('canceled_at') }} as canceled_at,
        {{ epoch_seconds_to_timestamp('ended_at') }} as ended_at,
        {{ epoch_seconds_to_timestamp('applied_discount_start') }} as discount_started_at,
        {{ epoch_seconds_to_timestamp('applied_discount_end') }} as discount_ends_at,
        _dlt_load_id as load_id
    from versioned
)

select * from final
