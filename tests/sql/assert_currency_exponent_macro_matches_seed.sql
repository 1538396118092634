-- The currency_exponent macro (a CASE, so that any model can use it without a join) must agree
-- with seed currency_exponents, the list the user maintains; currencies not in the seed have 2.
with exponents as (select * from {{ ref('currency_exponents') }}),

final as (
    select
        currency,
        exponent,
        {{ currency_exponent('currency') }} as macro_exponent
    from exponents
    where {{ currency_exponent('currency') }} <> exponent
    union all
    select
        'USD' as currency,
        2 as exponent,
        {{ currency_exponent("'USD'") }} as macro_exponent
    where {{ currency_exponent("'USD'") }} <> 2
)

select * from final
