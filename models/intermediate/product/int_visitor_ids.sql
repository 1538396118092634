-- One visitor per person: every GA4 browser (user_pseudo_id) seen with a user_id belongs to
-- that user, and a user with a Stripe customer to the customer (int_identity_map), so a
-- visitor_id is a customer_id, else a user_id, else the user_pseudo_id.
with sessions as (select * from {{ ref('int_ga4_sessions') }}),

identity_map as (select * from {{ ref('int_identity_map') }}),

pseudo_users as (
    select distinct user_pseudo_id
    from sessions
),

final as (
    select
        pseudo_users.user_pseudo_id,
        coalesce(identity_map.customer_id, identity_map.user_id, pseudo_users.user_pseudo_id) as visitor_id,
        identity_map.user_id,
        identity_map.customer_id
    from pseudo_users
    left join identity_map on pseudo_users.user_pseudo_id = identity_map.user_pseudo_id
)

select * from final
