-- The ten reporting channels (docs/metrics.md), whatever data exists; seed channel_grouping maps
-- (source, medium) pairs onto them.
with channels as (
    select
        channel_values.channel_order,
        channel_values.channel,
        channel_values.is_paid,
        channel_values.channel_description
    from (
        values
        (1, 'Direct', false, 'No referrer and no campaign tagging: typed URLs, bookmarks, apps.'),
        (2, 'Organic Search', false, 'Unpaid search engine results (google, bing, duckduckgo ... / organic).'),
        (3, 'Paid Search', true, 'Search ads: a search engine with a paid medium, or any Google Ads click (gclid).'),
        (4, 'Paid Social', true, 'Social network ads (facebook, linkedin ... / paid_social or a cost medium).'),
        (5, 'Organic Social', false, 'Unpaid visits from social sites (linkedin.com, t.co, reddit.com ...).'),
        (6, 'Email', false, 'Email and newsletters (medium email, source newsletter).'),
        (7, 'Referral', false, 'Links from other sites (medium referral).'),
        (8, 'Display', true, 'Display advertising (display, banner, cpm ...).'),
        (9, 'Affiliates', true, 'Affiliate partners (medium affiliate).'),
        (10, 'Unassigned', false, 'Traffic-source data that no channel rule matches.')
    ) as channel_values (channel_order, channel, is_paid, channel_description)
),

final as (
    select
        channel,
        channel_order,
        is_paid,
        channel_description
    from channels
)

select * from final
