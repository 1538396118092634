-- Stripe API versions (macros/stripe_versions.sql): coalesce(newer path, 2024-06-20 path).
--   subscription: parent.subscription_details.subscription since 2025-03-31.basil;
--   tax: total - total_excluding_tax (basil replaced `tax` by the `total_taxes` list);
--   charge: the invoice's latest charge (basil dropped `charge`: charges reach their invoice
--     through invoice payments, stg_stripe__charges);
--   discount: the first expanded `discounts` entry (basil dropped the single `discount`).
with invoices as (
    select * from {{ source_or_empty('stripe', 'invoices') }}
),

charges as (select * from {{ ref('stg_stripe__charges') }}),

applied_discounts as (
    {{ stripe_applied_discounts('invoices__discounts') }}
),

latest_charges as (
    select
        invoice_id,
        charge_id,
        row_number() over (partition by invoice_id order by created_at desc, charge_id desc) as recency
    from charges
    where invoice_id is not null
),

versioned as (
    select
        invoices.*,
        coalesce(invoices.parent__subscription_details__subscription, invoices.subscription)
            as subscription_id,
        coalesce(invoices.total - invoices.total_excluding_tax, invoices.tax) as tax_minor,
        coalesce(latest_charges.charge_id, invoices.charge) as charge_id,
        coalesce(applied_discounts.discount_id, invoices.discount__id) as discount_id,
        coalesce(applied_discounts.coupon_id, invoices.discount__coupon__id) as coupon_id,
        coalesce(applied_discounts.coupon_duration, invoices.discount__coupon__duration)
            as coupon_duration,
        coalesce(applied_discounts.coupon_percent_off, invoices.discount__coupon__percent_off)
            as applied_coupon_percent_off,
        coalesce(applied_discounts.coupon_amount_off, invoices.discount__coupon__amount_off)
            as coupon_amount_off_minor,
        coalesce(applied_discounts.discount_start, invoices.discount__start) as applied_discount_start,
        coalesce(applied_discounts.discount_end, invoices.discount__end) as applied_discount_end
    from invoices
    left join latest_charges on invoices.id = latest_charges.invoice_id and latest_charges.recency = 1
    left join applied_discounts on invoices._dlt_id = applied_discounts._dlt_parent_id
),

final as (
    select
        id as invoice_id,
        customer as customer_id,
        subscription_id,
        lower(currency) as currency,
        billing_reason,
        status,
        attempt_count,
        charge_id,
        subtotal as subtotal_minor,
        tax_minor,
        total as total_minor,
        total_excluding_tax as total_excluding_tax_minor,
        amount_due as amount_due_minor,
        amount_paid as amount_paid_minor,
        {{ to_major_units('subtotal', 'currency') }} as subtotal_amount,
        {{ to_major_units('tax_minor', 'currency') }} as tax_amount,
        {{ to_major_units('total', 'currency') }} as total_amount,
        {{ to_major_units('total_excluding_tax', 'currency') }} as total_excluding_tax_amount,
        {{ to_major_units('amount_paid', 'currency') }} as amount_paid_amount,
        discount_id,
        coupon_id,
        coupon_duration,
        cast(applied_coupon_percent_off as decimal(9, 4)) as coupon_percent_off,
        coupon_amount_off_minor,
        {{ epoch_seconds_to_timestamp('applied_discount_start') }} as discount_started_at,
        {{ epoch_seconds_to_timestamp('applied_discount_end') }} as discount_ends_at,
        {{ epoch_seconds_to_timestamp('created') }} as created_at,
        {{ epoch_seconds_to_timestamp('period_start') }} as period_started_at,
        {{ epoch_seconds_to_timestamp('period_end') }} as period_ends_at,
        {{ epoch_seconds_to_timestamp('status_transitions__finalized_at') }} as finalized_at,
        {{ epoch_seconds_to_timestamp('status_transitions__paid_at') }} as paid_at,
        {{ epoch_seconds_to_timestamp('status_transitions__marked_uncollectible_at') }}
            as marked_uncollectible_at,
        _dlt_load_id as load_id
    from versioned
)

select * from final
