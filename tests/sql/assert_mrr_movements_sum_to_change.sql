-- docs/metrics.md invariant, every month and every currency (and the reporting-currency rows):
-- starting + new + reactivation + expansion - contraction - churn = ending, exactly (decimals),
-- and the same for customer counts. Returns the months where it breaks.
with summary as (select * from {{ ref('mrr_summary') }}),

final as (
    select
        month,
        currency_scope,
        currency,
        starting_mrr,
        new_mrr,
        reactivation_mrr,
        expansion_mrr,
        contraction_mrr,
        churn_mrr,
        ending_mrr
    from summary
    where
        starting_mrr + new_mrr + reactivation_mrr + expansion_mrr - contraction_mrr - churn_mrr <> ending_mrr
        or starting_customers + new_customers + reactivated_customers - churned_customers <> ending_customers
)

select * from final
