{#-
    Stripe API versions in staging. The source asks for one version (Stripe-Version), but the
    warehouse can hold both shapes: events keep the version the account had when they
    happened, and an account can move from one version to the next. Every field a newer
    version moved is read the same way in models/staging/stripe/: coalesce(<newer path>,
    <2024-06-20 path>), each documented where it is read. Both paths are always columns:
    ingestion/sources/stripe_columns.py declares every column these models read.

    stripe_applied_discounts(discounts_table): since 2025-03-31.basil a subscription or an
    invoice no longer carries its single `discount` (with the coupon expanded); the source
    reads `discounts` expanded instead (a child table, one row per discount), and since
    2025-09-30.clover a Discount names its coupon by id only (`source.coupon`, before:
    `coupon.id`). One row per parent row (`_dlt_parent_id`): its first discount, with the
    coupon's terms from the coupons table.
-#}

{% macro stripe_applied_discounts(discounts_table) -%}
    select
        discounts._dlt_parent_id,
        discounts.id as discount_id,
        coalesce(discounts.source__coupon, discounts.coupon__id) as coupon_id,
        coupons.duration as coupon_duration,
        coupons.percent_off as coupon_percent_off,
        coupons.amount_off as coupon_amount_off,
        discounts.start as discount_start,
        discounts.{{ adapter.quote("end") }} as discount_end
    from (
        select * from {{ source_or_empty('stripe', discounts_table) }}
    ) as discounts
    left join (
        select * from {{ source_or_empty('stripe', 'coupons') }}
    ) as coupons
        on coalesce(discounts.source__coupon, discounts.coupon__id) = coupons.id
    where discounts._dlt_list_idx = 0
{%- endmacro %}
