-- One row per customer: the newest dlt load that wrote any of the customer's billing objects
-- (its subscriptions, with their items; its invoices, with their lines; its charges). dlt's
-- merge rewrites an object's row, load id included, whenever Stripe changed it, so a customer
-- whose newest load id is not the one int_subscription_mrr_daily stored has changed since
-- that model last computed it: the model recomputes every day of those customers only.
-- Load ids are compared for equality only; max() just picks one per customer.
with subscriptions as (select * from {{ ref('stg_stripe__subscriptions') }}),

invoices as (select * from {{ ref('stg_stripe__invoices') }}),

charges as (select * from {{ ref('stg_stripe__charges') }}),

loads as (
    select
        customer_id,
        load_id
    from subscriptions
    union all
    select
        customer_id,
        load_id
    from invoices
    union all
    select
        customer_id,
        load_id
    from charges
),

final as (
    select
        customer_id,
        max(load_id) as last_load_id
    from loads
    where customer_id is not null
    group by customer_id
)

select * from final
