{#- on_schema_change: a table built before customer_load_id existed gains the column (every
    customer reads as changed, so that run recomputes every row) -#}
{{
    config(
        materialized='incremental',
        unique_key=['subscription_id', 'snapshot_date'],
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
    )
}}

-- One row per subscription per day (from the day it was created): its status and MRR at the
-- day's last instant (docs/metrics.md "MRR"), in minor units of the subscription's currency.
-- The monthly value is the value of the month's last day (int_subscription_mrr_monthly).

{#-
    Incremental: a day's value depends only on the subscription's own Stripe objects (its
    lifecycle, item versions, discounts, invoices and charges) and the day. So each run computes
    the new days (from the newest day already here: the last one was month-to-date) of every
    subscription, and every day of the customers whose billing objects changed since their rows
    were computed (int_customer_billing_loads: their newest dlt load is not the one stored in
    customer_load_id). Every row is computed from all of the subscription's history, never from
    a window of it, so the result equals a full refresh (tests/transformation/test_billing_incremental.py).
#}
{#- MRR counts only in these statuses: live_days and the rest split every day by this one list -#}
{% set live_statuses = "('active', 'past_due')" %}

with lifecycle as (select * from {{ ref('int_subscription_lifecycle') }}),

item_versions as (select * from {{ ref('int_subscription_item_versions') }}),

discounts as (select * from {{ ref('int_subscription_discounts') }}),

days as (select * from {{ ref('int_mrr_days') }}),

invoices as (select * from {{ ref('stg_stripe__invoices') }}),

charges as (select * from {{ ref('stg_stripe__charges') }}),

billing_loads as (select * from {{ ref('int_customer_billing_loads') }}),

subscriptions as (
    select
        lifecycle.*,
        billing_loads.last_load_id as customer_load_id
    from lifecycle
    left join billing_loads on lifecycle.customer_id = billing_loads.customer_id
),

{% if is_incremental() %}
    {#- a table built before customer_load_id existed: no customer's load is stored (all changed) -#}
    {%- set has_stored_loads = not execute or model.resource_type == 'unit_test'
        or 'customer_load_id' in (adapter.get_columns_in_relation(this) | map(attribute='name') | list) %}
    stored_loads as (
        select distinct
            customer_id,
            {{ 'customer_load_id' if has_stored_loads else 'cast(null as ' ~ dbt.type_string() ~ ') as customer_load_id' }}
        from {{ this }}
    ),

    changed_subscriptions as (
        -- new customers too: no row of theirs is stored
        select subscriptions.*
        from subscriptions
        where not exists (
            select 1
            from stored_loads
            where
                stored_loads.customer_id = subscriptions.customer_id
                and stored_loads.customer_load_id = subscriptions.customer_load_id
        )
    ),

    new_days as (
        select *
        from days
        where snapshot_date >= {{ incremental_start_date('snapshot_date') }}
    ),

    subscription_days as (
        select
            changed_subscriptions.*,
            days.snapshot_date,
            days.snapshot_at
        from changed_subscriptions
        inner join days on changed_subscriptions.created_at < days.snapshot_at
        union all
        select
            subscriptions.*,
            new_days.snapshot_date,
            new_days.snapshot_at
        from subscriptions
        inner join new_days on subscriptions.created_at < new_days.snapshot_at
        where subscriptions.subscription_id not in (select subscription_id from changed_subscriptions)
    ),
{% else %}
    subscription_days as (
        select
            subscriptions.*,
            days.snapshot_date,
            days.snapshot_at
        from subscriptions
        inner join days on subscriptions.created_at < days.snapshot_at
    ),
{% endif %}

failed_invoices as (
    select
        invoices.subscription_id,
        invoices.paid_at,
        min(charges.created_at) as first_failed_at
    from invoices
    inner join charges on invoices.invoice_id = charges.invoice_id
    where charges.status = 'failed'
    group by invoices.subscription_id, invoices.invoice_id, invoices.paid_at
),

past_due_days as (
    select distinct
        subscription_days.subscription_id,
        subscription_days.snapshot_date
    from subscription_days
    inner join failed_invoices
        on
            subscription_days.subscription_id = failed_invoices.subscription_id
            and subscription_days.snapshot_at > failed_invoices.first_failed_at
            and (failed_invoices.paid_at is null or subscription_days.snapshot_at <= failed_invoices.paid_at)
),

statuses as (
    select
        subscription_days.*,
        case
            when subscription_days.ended_at < subscription_days.snapshot_at
                then case
                    when subscription_days.current_status = 'incomplete_expired' then 'incomplete_expired'
                    else 'canceled'
                end
            when subscription_days.live_from < subscription_days.snapshot_at
                then case when past_due_days.subscription_id is not null then 'past_due' else 'active' end
            when subscription_days.trial_started_at < subscription_days.snapshot_at then 'trialing'
            else 'incomplete'
        end as status
    from subscription_days
    left join past_due_days
        on
            subscription_days.subscription_id = past_due_days.subscription_id
            and subscription_days.snapshot_date = past_due_days.snapshot_date
),

live_days as (
    -- MRR counts only in live statuses: the other days (three in four at the large scale, most
    -- of them a canceled subscription's) need no items or discounts
    select *
    from statuses
    where status in {{ live_statuses }}
),

-- A subscription's gross MRR changes only at the instants of its item versions: a day takes the
-- value computed at the last such instant before its last instant (the versions before the day's
-- end are those at or before that instant). So the latest full snapshot and its items are found
-- once per instant, not once per day: per day, the large bench ranked 13 M (day, snapshot) pairs.
live_subscriptions as (
    -- only the subscriptions live on a day of this run: an incremental run's are few (a join to
    -- this list, as Spark's plan of "subscription_id in (select ... from live_days)" returned no rows)
    select distinct subscription_id
    from live_days
),

change_instants as (
    select distinct
        item_versions.subscription_id,
        item_versions.valid_from as changed_at
    from item_versions
    inner join live_subscriptions on item_versions.subscription_id = live_subscriptions.subscription_id
    where item_versions.valid_from is not null
),

full_snapshots as (
    select distinct
        subscription_id,
        valid_from,
        evidence_rank
    from item_versions
    where snapshot_kind in ('invoice', 'observed', 'window', 'subscription')
),

latest_snapshot as (
    select
        change_instants.subscription_id,
        change_instants.changed_at,
        full_snapshots.valid_from,
        full_snapshots.evidence_rank,
        row_number() over (
            partition by change_instants.subscription_id, change_instants.changed_at
            order by full_snapshots.valid_from desc, full_snapshots.evidence_rank desc
        ) as recency
    from change_instants
    inner join full_snapshots
        on
            change_instants.subscription_id = full_snapshots.subscription_id
            and change_instants.changed_at >= full_snapshots.valid_from
),

items_in_force as (
    -- the items of the latest full snapshot, each at its latest version since that snapshot
    select
        latest_snapshot.subscription_id,
        latest_snapshot.changed_at,
        item_versions.subscription_item_id,
        item_versions.quantity,
        item_versions.unit_amount_minor,
        item_versions.billing_interval,
        item_versions.billing_interval_count,
        row_number() over (
            partition by
                latest_snapshot.subscription_id,
                latest_snapshot.changed_at,
                snapshot_items.subscription_item_id
            order by item_versions.valid_from desc, item_versions.evidence_rank desc
        ) as recency
    from latest_snapshot
    inner join item_versions as snapshot_items
        on
            latest_snapshot.subscription_id = snapshot_items.subscription_id
            and latest_snapshot.valid_from = snapshot_items.valid_from
            and latest_snapshot.evidence_rank = snapshot_items.evidence_rank
    inner join item_versions
        on
            snapshot_items.subscription_item_id = item_versions.subscription_item_id
            and latest_snapshot.valid_from <= item_versions.valid_from
            and latest_snapshot.changed_at >= item_versions.valid_from
    where latest_snapshot.recency = 1
),

gross_at_change as (
    select
        subscription_id,
        changed_at,
        cast(
            sum({{ mrr_x12('unit_amount_minor * quantity', 'billing_interval', 'billing_interval_count') }})
            as decimal(38, 6)
        ) as gross_mrr_x12,
        -- the billing cycle a fixed amount_off is spread over (the items share one cycle)
        max(billing_interval) as billing_interval,
        max(billing_interval_count) as billing_interval_count
    from items_in_force
    where recency = 1
    group by subscription_id, changed_at
),

gross_periods as (
    -- in force after changed_at, up to and including the next change's instant (from the first
    -- full snapshot on, every instant has a value, so the next instant is the next row's)
    select
        *,
        lead(changed_at) over (partition by subscription_id order by changed_at) as next_changed_at
    from gross_at_change
),

discount_in_force as (
    select
        live_days.subscription_id,
        live_days.snapshot_date,
        discounts.coupon_duration,
        discounts.coupon_percent_off,
        discounts.coupon_amount_off_minor,
        row_number() over (
            partition by live_days.subscription_id, live_days.snapshot_date order by discounts.discount_started_at desc
        ) as recency
    from live_days
    inner join discounts
        on
            live_days.subscription_id = discounts.subscription_id
            and live_days.snapshot_at > discounts.discount_started_at
            and (discounts.discount_ends_at is null or live_days.snapshot_at <= discounts.discount_ends_at)
),

discounted as (
    select
        live_days.subscription_id,
        live_days.customer_id,
        live_days.customer_load_id,
        live_days.currency,
        live_days.snapshot_date,
        live_days.status,
        true as is_live,
        cast(coalesce(gross.gross_mrr_x12, 0) as decimal(38, 6)) as gross_mrr_x12,
        -- typed: PostgreSQL's case over decimals of several scales is a numeric of any scale
        cast(case
            when gross.gross_mrr_x12 is not null
                then {{ discounted_mrr_x12(
                    'gross.gross_mrr_x12',
                    'discount_in_force.coupon_duration',
                    'discount_in_force.coupon_percent_off',
                    mrr_x12('discount_in_force.coupon_amount_off_minor', 'gross.billing_interval',
                            'gross.billing_interval_count')) }}
            else 0
        end as decimal(38, 6)) as mrr_x12
    from live_days
    left join gross_periods as gross
        on
            live_days.subscription_id = gross.subscription_id
            and live_days.snapshot_at > gross.changed_at
            and (gross.next_changed_at is null or live_days.snapshot_at <= gross.next_changed_at)
    left join discount_in_force
        on
            live_days.subscription_id = discount_in_force.subscription_id
            and live_days.snapshot_date = discount_in_force.snapshot_date
            and discount_in_force.recency = 1
    union all
    select
        subscription_id,
        customer_id,
        customer_load_id,
        currency,
        snapshot_date,
        status,
        false as is_live,
        cast(0 as decimal(38, 6)) as gross_mrr_x12,
        cast(0 as decimal(38, 6)) as mrr_x12
    from statuses
    where status not in {{ live_statuses }}
),

final as (
    select
        *,
        {{ mrr_from_x12('mrr_x12') }} as mrr_minor
    from discounted
)

select * from final
