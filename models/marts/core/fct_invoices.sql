-- One row per Stripe invoice: amounts in the invoice currency (major units) and in the
-- reporting currency at the rate of the invoice's month (int_fx_rates_monthly). Revenue
-- excludes tax (docs/metrics.md "Money"); discount = subtotal - total excluding tax.
with invoices as (select * from {{ ref('stg_stripe__invoices') }}),

fx_rates as (select * from {{ ref('int_fx_rates_monthly') }}),

rates as (
    select
        month as rate_month,
        lower(currency) as currency,
        reporting_per_unit as usd_per_unit
    from fx_rates
),

amounts as (
    select
        invoice_id,
        customer_id,
        subscription_id,
        charge_id,
        currency,
        status,
        billing_reason,
        created_at,
        cast(created_at as date) as invoice_date,
        cast({{ dbt.date_trunc('month', 'created_at') }} as date) as invoice_month,
        period_started_at,
        period_ends_at,
        finalized_at,
        paid_at,
        status = 'paid' as is_paid,
        coupon_id,
        subtotal_minor,
        subtotal_minor - total_excluding_tax_minor as discount_minor,
        tax_minor,
        total_minor,
        amount_paid_minor,
        total_excluding_tax_minor as revenue_minor,
        subtotal_amount,
        {{ to_major_units('subtotal_minor - total_excluding_tax_minor', 'currency') }} as discount_amount,
        tax_amount,
        total_amount,
        amount_paid_amount as amount_paid,
        total_excluding_tax_amount as revenue_amount
    from invoices
),

final as (
    select
        amounts.invoice_id,
        amounts.customer_id,
        amounts.subscription_id,
        amounts.charge_id,
        amounts.currency,
        amounts.status,
        amounts.billing_reason,
        amounts.is_paid,
        amounts.coupon_id,
        amounts.created_at,
        amounts.invoice_date,
        amounts.invoice_month,
        amounts.period_started_at,
        amounts.period_ends_at,
        amounts.finalized_at,
        amounts.paid_at,
        amounts.subtotal_minor,
        amounts.discount_minor,
        amounts.tax_minor,
        amounts.total_minor,
        amounts.amount_paid_minor,
        amounts.revenue_minor,
        amounts.subtotal_amount,
        amounts.discount_amount,
        amounts.tax_amount,
        amounts.total_amount,
        amounts.amount_paid,
        amounts.revenue_amount,
        rates.usd_per_unit,
        cast(amounts.subtotal_amount * rates.usd_per_unit as decimal(38, 6)) as subtotal_amount_usd,
        cast(amounts.discount_amount * rates.usd_per_unit as decimal(38, 6)) as discount_amount_usd,
        cast(amounts.tax_amount * rates.usd_per_unit as decimal(38, 6)) as tax_amount_usd,
        cast(amounts.total_amount * rates.usd_per_unit as decimal(38, 6)) as total_amount_usd,
        cast(amounts.amount_paid * rates.usd_per_unit as decimal(38, 6)) as amount_paid_usd,
        cast(amounts.revenue_amount * rates.usd_per_unit as decimal(38, 6)) as revenue_amount_usd
    from amounts
    left join rates
        on
            amounts.invoice_month = rates.rate_month
            and amounts.currency = rates.currency
)

select * from final
