-- One row per discount applied to a subscription, with its coupon and validity window
-- [discount_started_at, discount_ends_at). Stripe removes a once / repeating discount from the
-- subscription when it ends, so past discounts come from the invoices that carried them.
with subscriptions as (select * from {{ ref('stg_stripe__subscriptions') }}),

invoices as (select * from {{ ref('stg_stripe__invoices') }}),

evidence as (
    select
        subscription_id,
        discount_id,
        coupon_id,
        coupon_duration,
        coupon_percent_off,
        coupon_amount_off_minor,
        discount_started_at,
        discount_ends_at
    from subscriptions
    where discount_id is not null
    union all
    select
        subscription_id,
        discount_id,
        coupon_id,
        coupon_duration,
        coupon_percent_off,
        coupon_amount_off_minor,
        discount_started_at,
        discount_ends_at
    from invoices
    where discount_id is not null and subscription_id is not null
),

final as (
    select distinct
        subscription_id,
        discount_id,
        coupon_id,
        coupon_duration,
        coupon_percent_off,
        coupon_amount_off_minor,
        discount_started_at,
        discount_ends_at
    from evidence
)

select * from final
