with events as (select * from {{ ref('stg_ga4__events') }}),

customers as (select * from {{ ref('stg_stripe__customers') }}),

-- every browser ever seen with a user_id; a shared browser (two user_ids) goes to the first
pseudo_users as (
    select
        user_pseudo_id,
        user_id,
        min(event_at) as first_identified_at
    from events
    where user_id is not null
    group by user_pseudo_id, user_id
),

ranked as (
    select
        *,
        row_number() over (partition by user_pseudo_id order by first_identified_at, user_id) as user_rank,
        count(*) over (partition by user_pseudo_id) as user_id_count
    from pseudo_users
),

final as (
    select
        ranked.user_pseudo_id,
        ranked.user_id,
        customers.customer_id,
        ranked.first_identified_at,
        ranked.user_id_count > 1 as is_shared_browser
    from ranked
    left join customers on ranked.user_id = customers.user_id
    where ranked.user_rank = 1
)

select * from final
