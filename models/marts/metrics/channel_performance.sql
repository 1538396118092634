-- One row per month x channel (docs/metrics.md "Spend and unit economics"). Spend, impressions and
-- clicks come from fct_ad_spend_daily (channel via the campaign's platform: Google Ads = Paid
-- Search, Meta / LinkedIn = Paid Social); trials, new customers and new MRR are the
-- attributed conversions of channel_attribution under var attribution_model.
{%- set attribution_model = var('attribution_model', 'position_based') %}

with ad_spend as (select * from {{ ref('fct_ad_spend_daily') }}),

sessions as (select * from {{ ref('fct_sessions') }}),

visitors as (select * from {{ ref('int_visitors') }}),

attribution as (select * from {{ ref('channel_attribution') }}),

mrr_summary as (select * from {{ ref('mrr_summary') }}),

spend_months as (
    select
        cast({{ dbt.date_trunc('month', 'spend_date') }} as date) as month,  -- noqa: RF04
        channel,
        cast(sum(spend_amount_usd) as decimal(38, 6)) as spend_amount_usd,
        cast(sum(impressions) as bigint) as impressions,
        cast(sum(clicks) as bigint) as clicks
    from ad_spend
    group by 1, 2
),

session_months as (
    select
        cast({{ dbt.date_trunc('month', 'session_date') }} as date) as month,  -- noqa: RF04
        channel,
        count(*) as sessions
    from sessions
    group by 1, 2
),

new_user_months as (
    select
        first_visit_month as month,  -- noqa: RF04
        first_touch_channel as channel,
        count(*) as new_users
    from visitors
    where first_visit_month is not null
    group by 1, 2
),

sign_up_months as (
    select
        cast({{ dbt.date_trunc('month', 'signed_up_at') }} as date) as month,  -- noqa: RF04
        first_touch_channel as channel,
        count(*) as sign_ups
    from visitors
    where signed_up_at is not null
    group by 1, 2
),

conversion_months as (
    select
        conversion_month as month,  -- noqa: RF04
        channel,
        sum(case when conversion_type = 'trial_start' then attributed_conversions else 0 end) as trials,
        sum(case when conversion_type = 'paid' then attributed_conversions else 0 end) as new_customers,
        sum(case when conversion_type = 'paid' then attributed_value_usd else 0 end) as new_mrr_amount_usd
    from attribution
    where attribution_model = '{{ attribution_model }}'
    group by 1, 2
),

month_channels as (
    select
        month,
        channel
    from spend_months
    union
    select
        month,
        channel
    from session_months
    union
    select
        month,
        channel
    from new_user_months
    union
    select
        month,
        channel
    from sign_up_months
    union
    select
        month,
        channel
    from conversion_months
),

joined as (
    select
        month_channels.month,
        month_channels.channel,
        coalesce(spend_months.spend_amount_usd, 0) as spend_amount_usd,
        coalesce(spend_months.impressions, 0) as impressions,
        coalesce(spend_months.clicks, 0) as clicks,
        coalesce(session_months.sessions, 0) as sessions,
        coalesce(new_user_months.new_users, 0) as new_users,
        coalesce(sign_up_months.sign_ups, 0) as sign_ups,
        -- attributed (fractional) at channel_attribution's own precision, so channels add up exactly
        coalesce(conversion_months.trials, 0) as trials,
        coalesce(conversion_months.new_customers, 0) as new_customers,
        coalesce(conversion_months.new_mrr_amount_usd, 0) as new_mrr_amount_usd
    from month_channels
    left join spend_months
        on month_channels.month = spend_months.month and month_channels.channel = spend_months.channel
    left join session_months
        on month_channels.month = session_months.month and month_channels.channel = session_months.channel
    left join new_user_months
        on month_channels.month = new_user_months.month and month_channels.channel = new_user_months.channel
    left join sign_up_months
        on month_channels.month = sign_up_months.month and month_channels.channel = sign_up_months.channel
    left join conversion_months
        on month_channels.month = conversion_months.month and month_channels.channel = conversion_months.channel
),

with_month_totals as (
    select
        joined.*,
        sum(joined.spend_amount_usd) over (partition by joined.month) as month_spend_amount_usd,
        sum(joined.new_customers) over (partition by joined.month) as month_new_customers,
        mrr_summary.arpa,
        mrr_summary.ltv
    from joined
    left join mrr_summary
        on joined.month = mrr_summary.month and mrr_summary.currency_scope = 'reporting'
),

with_cac as (
    select
        *,
        {{ exact_divide('spend_amount_usd', 'nullif(new_customers, 0)') }} as cac_usd,
        {{ exact_divide('month_spend_amount_usd', 'nullif(month_new_customers, 0)') }} as blended_cac_usd
    from with_month_totals
),

final as (
    select
        month,
        channel,
        '{{ attribution_model }}' as attribution_model,
        spend_amount_usd,
        impressions,
        clicks,
        {{ exact_divide('clicks', 'nullif(impressions, 0)') }} as click_through_rate,
        {{ exact_divide('spend_amount_usd', 'nullif(clicks, 0)') }} as cost_per_click_usd,
        {{ exact_divide('spend_amount_usd * 1000', 'nullif(impressions, 0)') }} as cost_per_mille_usd,
        sessions,
        new_users,
        sign_ups,
        trials,
        new_customers,
        new_mrr_amount_usd,
        cac_usd,
        blended_cac_usd,
        {{ exact_divide('new_mrr_amount_usd * 12', 'nullif(spend_amount_usd, 0)') }} as first_year_roas,
        {{ exact_divide(
            'cac_usd',
            'nullif(arpa * cast(' ~ var('gross_margin', 1.0) ~ ' as decimal(9, 6)), 0)') }} as payback_months,
        {{ exact_divide('ltv', 'nullif(cac_usd, 0)') }} as ltv_to_cac,
        -- the month's payback and LTV:CAC inputs, the same on every row of the month, so the
        -- semantic layer can recompute both at any grain (models/marts/metrics/_metrics__growth__semantic.yml)
        arpa as arpa_usd,
        cast({{ var('gross_margin', 1.0) }} as decimal(9, 6)) as gross_margin,
        ltv as ltv_usd
    from with_cac
)

select * from final
