{{
    config(
        materialized='incremental',
        unique_key='customer_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
    )
}}

{#-
    Incremental, rebuilt per customer. A customer's touchpoints (and their touch_number, which
    counts over all the customer's sessions) change when
      - one of the customer's sessions changes or is new: GA4 ingestion re-reads the last 3
        export days, so those are sessions whose last event is within 3 days of the newest
        session already in this table; or
      - the identity map links or unlinks a browser (a first sign-up / login on a new browser,
        a Stripe customer appearing for a user_id, a shared browser re-assigned): any
        (customer_id, user_id, user_pseudo_id) link that differs between int_identity_map and
        this table.
    Each run re-derives, whole and from all their sessions, the touchpoints of every such
    customer and replaces that customer's rows (delete+insert by customer_id), so the result
    equals a full refresh. (A customer left with no browser at all keeps stale rows until a
    full refresh; the identity map never unlinks a customer's only browser in practice.)
-#}
{% set lookback_days = var('ga4_reread_days') %}

with sessions as (select * from {{ ref('int_ga4_sessions') }}),

identity_map as (select * from {{ ref('int_identity_map') }}),

customer_sessions as (
    select
        identity_map.customer_id,
        identity_map.user_id,
        sessions.session_key,
        sessions.user_pseudo_id,
        sessions.ga_session_id,
        sessions.session_started_at,
        sessions.session_ended_at,
        sessions.session_date,
        sessions.source,
        sessions.medium,
        sessions.campaign,
        sessions.channel
    from sessions
    inner join identity_map on sessions.user_pseudo_id = identity_map.user_pseudo_id
    where identity_map.customer_id is not null
),

{% if is_incremental() %}
    current_links as (
        select distinct
            customer_id,
            user_id,
            user_pseudo_id
        from customer_sessions
    ),

    built_links as (
        select distinct
            customer_id,
            user_id,
            user_pseudo_id
        from {{ this }}
    ),

    relinked_customers as (
        select coalesce(current_links.customer_id, built_links.customer_id) as customer_id
        from current_links
        full outer join built_links
            on
                current_links.customer_id = built_links.customer_id
                and current_links.user_pseudo_id = built_links.user_pseudo_id
                and current_links.user_id is not distinct from built_links.user_id
        where current_links.customer_id is null or built_links.customer_id is null
    ),

    recent_customers as (
        select customer_id
        from customer_sessions
        where
            cast(session_ended_at as date)
            >= {{ incremental_start_date('cast(session_ended_at as date)', lookback_days) }}
    ),

    changed_customers as (
        select customer_id from relinked_customers
        union
        select customer_id from recent_customers
    ),
{% endif %}

changed_sessions as (
    select *
    from customer_sessions
    {% if is_incremental() %}
        where customer_id in (select changed_customers.customer_id from changed_customers)
    {% endif %}
),

final as (
    select
        *,
        row_number() over (
            partition by customer_id order by session_started_at, session_key
        ) as touch_number
    from changed_sessions
)

select * from final
