-- One row per subscription item per version: the licensed price and quantity a subscription
-- item had from `valid_from`. Five kinds of evidence (docs/metrics.md "MRR"):
--   snapshot_kind = 'invoice': the non-proration subscription lines of each invoice give the
--     full set of items for the invoice's period (history Stripe keeps);
--   snapshot_kind = 'proration': a 'remaining time' proration line (amount >= 0) gives one
--     item's new price / quantity from the change instant (the line's period start);
--   snapshot_kind = 'observed': the full set in a state the pipeline observed (an event's
--     data.object at the event's time; a stored subscription_history state as of its read);
--   snapshot_kind = 'window': the full set at the start of the events window a read had
--     (Stripe serves every event of the last 30 days: no event there means no change);
--   snapshot_kind = 'subscription': the subscription object's current items, the full set as
--     of the newest read (the extract's as-of when no read time is stored), or at ended_at for
--     ended subscriptions.
-- A change that none of these dates (prorations never invoiced, events gone) counts from the
-- next evidence: the sandbox's mrr_monthly_observable.csv is that truth.
-- Metered items (usage billed in arrears) and one-off invoice items are not MRR: excluded.
with lines as (select * from {{ ref('stg_stripe__invoice_lines') }}),

items as (select * from {{ ref('stg_stripe__subscription_items') }}),

subscriptions as (select * from {{ ref('stg_stripe__subscriptions') }}),

observations as (select * from {{ ref('stg_stripe__subscription_item_observations') }}),

days as (select * from {{ ref('int_mrr_days') }}),

as_of as (select max(as_of_at) as as_of_at from days),

newest_read as (
    -- the newest read of subscription states: the current items were the state then
    select max(observed_at) as read_at
    from observations
    where observed_via = 'pipeline_load'
),

invoice_items as (
    select
        subscription_id,
        subscription_item_id,
        'invoice' as snapshot_kind,
        period_started_at as valid_from,
        price_id,
        quantity,
        unit_amount_minor,
        billing_interval,
        billing_interval_count
    from lines
    where
        line_type = 'subscription'
        and not is_proration
        and usage_type = 'licensed'
        and subscription_id is not null
),

proration_items as (
    select
        subscription_id,
        subscription_item_id,
        'proration' as snapshot_kind,
        period_started_at as valid_from,
        price_id,
        quantity,
        unit_amount_minor,
        billing_interval,
        billing_interval_count
    from lines
    where
        line_type = 'subscription'
        and is_proration
        and amount_minor >= 0
        and usage_type = 'licensed'
        and subscription_id is not null
),

observed_items as (
    select
        subscription_id,
        subscription_item_id,
        case when observed_via = 'event_window' then 'window' else 'observed' end as snapshot_kind,
        observed_at as valid_from,
        price_id,
        quantity,
        unit_amount_minor,
        billing_interval,
        billing_interval_count
    from observations
    where usage_type = 'licensed'
),

current_items as (
    select
        items.subscription_id,
        items.subscription_item_id,
        'subscription' as snapshot_kind,
        coalesce(subscriptions.ended_at, newest_read.read_at, as_of.as_of_at) as valid_from,
        items.price_id,
        items.quantity,
        items.unit_amount_minor,
        items.billing_interval,
        items.billing_interval_count
    from items
    inner join subscriptions on items.subscription_id = subscriptions.subscription_id
    cross join as_of
    cross join newest_read
    where items.usage_type = 'licensed'
),

unioned as (
    select * from invoice_items
    union all
    select * from proration_items
    union all
    select * from observed_items
    union all
    select * from current_items
),

final as (
    select
        *,
        -- on the same instant the newer evidence wins: subscription object > observed state >
        -- proration > invoice > a window's start (the state before that instant's changes)
        case snapshot_kind
            when 'subscription' then 4 when 'observed' then 3 when 'proration' then 2 when 'invoice' then 1
            else 0
        end as evidence_rank
    from unioned
)

select * from final
