-- Month 0 of every cohort and channel: every cohort customer is active by definition, so logo
-- retention is exactly 1 and revenue retentions are 1. Returns the rows where it is not.
with cohorts as (select * from {{ ref('cohort_retention') }}),

final as (
    select
        cohort_month,
        channel,
        logo_retention,
        net_revenue_retention,
        gross_revenue_retention
    from cohorts
    where
        months_since_start = 0
        and (
            logo_retention <> 1
            or net_revenue_retention <> 1
            or gross_revenue_retention <> 1
            or active_customers <> cohort_customers
        )
)

select * from final
