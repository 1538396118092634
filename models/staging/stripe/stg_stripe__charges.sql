-- Stripe API versions (see stg_stripe__invoices): since 2025-03-31.basil a charge no longer
-- names its invoice (`invoice`); the invoice payment that holds its payment intent (or the
-- charge itself) does. The newer path first, then the 2024-06-20 field.
with charges as (
    select * from {{ source_or_empty('stripe', 'charges') }}
),

invoice_payments as (
    select * from {{ source_or_empty('stripe', 'invoice_payments') }}
),

invoice_by_intent as (
    select
        payment__payment_intent as payment_intent,
        min(invoice) as invoice_id
    from invoice_payments
    where payment__payment_intent is not null
    group by payment__payment_intent
),

invoice_by_charge as (
    select
        payment__charge as charge_id,
        min(invoice) as invoice_id
    from invoice_payments
    where payment__charge is not null
    group by payment__charge
),

final as (
    select
        charges.id as charge_id,
        coalesce(invoice_by_charge.invoice_id, invoice_by_intent.invoice_id, charges.invoice) as invoice_id,
        charges.customer as customer_id,
        lower(charges.currency) as currency,
        charges.status,
        charges.paid as is_paid,
        charges.failure_code,
        charges.amount as amount_minor,
        charges.amount_refunded as amount_refunded_minor,
        {{ to_major_units('charges.amount', 'charges.currency') }} as amount,
        {{ to_major_units('charges.amount_refunded', 'charges.currency') }} as amount_refunded,
        {{ epoch_seconds_to_timestamp('charges.created') }} as created_at,
        charges._dlt_load_id as load_id
    from charges
    left join invoice_by_intent on charges.payment_intent = invoice_by_intent.payment_intent
    left join invoice_by_charge on charges.id = invoice_by_charge.charge_id
)

select * from final
