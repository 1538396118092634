-- Stripe API versions (macros/stripe_versions.sql): coalesce(newer path, 2024-06-20 path).
-- Since 2025-03-31.basil a line names what generated it under `parent` (JSON below
-- parent.subscription_item_details / parent.invoice_item_details: subscription,
-- subscription_item, proration; parent.type replaces `type`) and its price under `pricing`
-- (pricing.price_details.price, pricing.unit_amount_decimal): `price` and `plan` are gone, so
-- the billing cycle comes from the price itself (prices are immutable).
with lines as (
    select * from {{ source_or_empty('stripe', 'invoices__lines__data') }}
),

prices as (
    select * from {{ source_or_empty('stripe', 'prices') }}
),

parents as (
    select
        *,
        coalesce(parent__subscription_item_details, parent__invoice_item_details) as parent_details,
        -- an integer number of minor units, else null (as `price.unit_amount` for decimal prices)
        {{ try_cast_decimal('pricing__unit_amount_decimal', 38, 12) }} as pricing_unit_amount
    from lines
),

versioned as (
    select
        parents.*,
        coalesce({{ json_field('parents.parent_details', 'subscription') }}, parents.subscription) as subscription_id,
        coalesce(
            {{ json_field('parents.parent__subscription_item_details', 'subscription_item') }},
            parents.subscription_item
        ) as subscription_item_id,
        coalesce(
            case parents.parent__type
                when 'subscription_item_details' then 'subscription'
                when 'invoice_item_details' then 'invoiceitem'
            end,
            parents.type
        ) as line_type,
        coalesce(cast({{ json_field('parents.parent_details', 'proration') }} as boolean), parents.proration)
            as is_proration,
        coalesce({{ json_field('parents.pricing__price_details', 'price') }}, parents.price__id) as price_id,
        coalesce(
            case
                when parents.pricing_unit_amount = floor(parents.pricing_unit_amount)
                    then cast(parents.pricing_unit_amount as bigint)
            end,
            parents.price__unit_amount
        ) as unit_amount_minor,
        coalesce(prices.recurring__interval, parents.plan__interval) as billing_interval,
        coalesce(prices.recurring__interval_count, parents.plan__interval_count) as billing_interval_count,
        coalesce(prices.recurring__usage_type, parents.plan__usage_type) as usage_type
    from parents
    left join prices
        on coalesce({{ json_field('parents.pricing__price_details', 'price') }}, parents.price__id) = prices.id
),

final as (
    select
        id as invoice_line_id,
        invoice as invoice_id,
        subscription_id,
        subscription_item_id,
        line_type,
        is_proration,
        description,
        lower(currency) as currency,
        price_id,
        quantity,
        amount as amount_minor,
        {{ to_major_units('amount', 'currency') }} as amount,
        unit_amount_minor,
        {{ to_major_units('unit_amount_minor', 'currency') }} as unit_amount,
        billing_interval,
        billing_interval_count,
        usage_type,
        discountable as is_discountable,
        {{ epoch_seconds_to_timestamp('period__start') }} as period_started_at,
        {{ epoch_seconds_to_timestamp('period__end') }} as period_ends_at
    from versioned
)

select * from final
