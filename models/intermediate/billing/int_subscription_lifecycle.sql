-- One row per subscription: when it became live (active or past_due) and when it ended,
-- reconstructed from its invoices and their payment attempts.
with subscriptions as (select * from {{ ref('stg_stripe__subscriptions') }}),

invoices as (select * from {{ ref('stg_stripe__invoices') }}),

charges as (select * from {{ ref('stg_stripe__charges') }}),

first_attempts as (
    select
        invoice_id,
        min(case when status = 'failed' then created_at end) as first_failed_at,
        min(case when status = 'succeeded' then created_at end) as first_succeeded_at
    from charges
    group by invoice_id
),

paying_invoices as (
    -- invoices for time after the trial: the first one turns the subscription live
    select
        invoices.subscription_id,
        invoices.invoice_id,
        invoices.billing_reason,
        invoices.created_at,
        invoices.paid_at,
        subscriptions.status as subscription_status,
        first_attempts.first_failed_at,
        row_number() over (
            partition by invoices.subscription_id order by invoices.period_started_at, invoices.created_at
        ) as invoice_number
    from invoices
    inner join subscriptions on invoices.subscription_id = subscriptions.subscription_id
    left join first_attempts on invoices.invoice_id = first_attempts.invoice_id
    where invoices.period_started_at >= coalesce(subscriptions.trial_ended_at, subscriptions.started_at)
),

activation as (
    select
        subscription_id,
        case
            -- a first invoice never paid leaves the subscription incomplete: never live. Stripe's
            -- status says so; a subscription past_due while its first invoice is retried, or
            -- active before its first attempt, went live (the current state is the subscription's)
            when
                billing_reason = 'subscription_create' and paid_at is null
                and subscription_status in ('incomplete', 'incomplete_expired')
                then null
            -- paid at the first attempt: active from the invoice; else past_due from the failure
            when first_failed_at is null or (paid_at is not null and paid_at < first_failed_at) then created_at
            else first_failed_at
        end as live_from
    from paying_invoices
    where invoice_number = 1
),

final as (
    select
        subscriptions.subscription_id,
        subscriptions.customer_id,
        subscriptions.currency,
        subscriptions.status as current_status,
        subscriptions.created_at,
        subscriptions.trial_started_at,
        subscriptions.trial_ended_at,
        activation.live_from,
        subscriptions.canceled_at,
        subscriptions.ended_at,
        subscriptions.cancel_at_period_end
    from subscriptions
    left join activation on subscriptions.subscription_id = activation.subscription_id
)

select * from final
