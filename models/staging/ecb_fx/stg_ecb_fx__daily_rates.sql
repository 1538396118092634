-- Casts only: the ECB's exact decimal text to a decimal (never a float), currency upper-case.
with daily_rates as (
    select * from {{ source_or_empty('ecb_fx', 'daily_rates') }}
),

final as (
    select
        cast(date as date) as rate_date,
        upper(currency) as currency,
        cast(rate as decimal(24, 10)) as currency_per_eur
    from daily_rates
)

select * from final
