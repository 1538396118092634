-- One row per customer x currency x month in which the customer's MRR moved
-- (docs/metrics.md "Movements", classified in its order: new, reactivation, churn,
-- expansion, contraction). mrr_change is signed: churn and contraction are negative.
with customer_mrr as (select * from {{ ref('int_customer_mrr_monthly') }}),

classified as (
    select
        *,
        case
            when previous_mrr_x12 = 0 and mrr_x12 > 0 and not had_mrr_before then 'new'
            when previous_mrr_x12 = 0 and mrr_x12 > 0 then 'reactivation'
            when previous_mrr_x12 > 0 and mrr_x12 = 0 then 'churn'
            when mrr_x12 > previous_mrr_x12 and previous_mrr_x12 > 0 then 'expansion'
            when previous_mrr_x12 > mrr_x12 and mrr_x12 > 0 then 'contraction'
        end as movement_type
    from customer_mrr
),

final as (
    select
        {{ dbt.concat(["customer_id", "'|'", "currency", "'|'", "cast(month as " ~ dbt.type_string() ~ ")"]) }}
            as subscription_change_id,
        customer_id,
        currency,
        month,
        movement_type,
        previous_mrr_x12,
        mrr_x12,
        cast(mrr_x12 - previous_mrr_x12 as decimal(38, 6)) as mrr_change_x12,
        previous_mrr_amount,
        mrr_amount,
        cast(mrr_amount - previous_mrr_amount as decimal(38, 6)) as mrr_change_amount,
        -- in the reporting currency at the month's rate (constant currency within the month)
        cast((mrr_amount - previous_mrr_amount) * usd_per_unit as decimal(38, 6)) as mrr_change_amount_usd
    from classified
    where movement_type is not null
)

select * from final
