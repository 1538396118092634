-- One row per subscription item in each observed state of a subscription, with the instant the
-- state is known to hold from (observed_at: the state after every change up to it):
--   'event': customer.subscription.* events carry data.object as of the event (exact);
--   'pipeline_load': the states the pipeline stored in subscription_history, as of their read
--     (the API's clock; the load's time for rows stored before it was kept), i.e. one second
--     before it: the read shows every change before it;
--   'event_window': the state at the start of the events window the read had. Stripe serves
--     every event of the last stripe_event_retention_days days, so a subscription with no event
--     in that window was already in its read state at its start, and one with events was in
--     the state its first event there replaced (data.previous_attributes, else data.object).
-- JSON is read through macros/json.sql (each adapter implements it).

with events as (
    select * from {{ source_or_empty('stripe', 'events') }}
),

history as (
    select * from {{ source_or_empty('stripe', 'subscription_history') }}
),

subscription_events as (
    select
        id as event_id,
        type as event_type,
        created,
        data,
        {{ json_field('data', 'object.id') }} as subscription_id
    from events
    where type like 'customer.subscription.%'
),

reads as (
    select
        _dlt_id,
        subscription_id,
        state,
        coalesce(observed_at, cast(floor(cast(_dlt_load_id as {{ type_double() }})) as bigint)) as read_epoch,
        coalesce(observed_at, cast(floor(cast(_dlt_load_id as {{ type_double() }})) as bigint))
        - {{ var('stripe_event_retention_days', 30) }} * 86400 as window_start_epoch
    from history
),

window_events as (
    -- each read's events of its subscription within the window Stripe served then
    select
        reads._dlt_id,
        subscription_events.event_type,
        subscription_events.data,
        row_number() over (
            partition by reads._dlt_id order by subscription_events.created, subscription_events.event_id
        ) as event_number
    from reads
    inner join subscription_events
        on
            reads.subscription_id = subscription_events.subscription_id
            and reads.window_start_epoch <= subscription_events.created
            and reads.read_epoch > subscription_events.created
),

observations as (
    select
        event_id as observation_id,
        'event' as observed_via,
        created as observed_epoch,
        subscription_id,
        {{ json_node('data', 'object.items') }} as item_list
    from subscription_events
    union all
    select
        _dlt_id as observation_id,
        'pipeline_load' as observed_via,
        read_epoch - 1 as observed_epoch,
        subscription_id,
        {{ json_node('state', 'items') }} as item_list
    from reads
    union all
    select
        reads._dlt_id || ':window' as observation_id,
        'event_window' as observed_via,
        reads.window_start_epoch - 1 as observed_epoch,
        reads.subscription_id,
        case
            when window_events.event_type is null then {{ json_node('reads.state', 'items') }}
            -- created inside the window: it had no state at the window's start
            when window_events.event_type = 'customer.subscription.created' then null
            else coalesce(
                {{ json_node('window_events.data', 'previous_attributes.items') }},
                {{ json_node('window_events.data', 'object.items') }}
            )
        end as item_list
    from reads
    left join window_events on reads._dlt_id = window_events._dlt_id and window_events.event_number = 1
),

items as (
    select
        observation_id,
        observed_via,
        observed_epoch,
        subscription_id,
        {{ json_array_items('item_list', 'data') }} as item
    from observations
),

final as (
    select
        observation_id,
        observed_via,
        subscription_id,
        {{ json_field('item', 'id') }} as subscription_item_id,
        {{ json_field('item', 'price.id') }} as price_id,
        cast({{ json_field('item', 'quantity') }} as bigint) as quantity,
        cast({{ json_field('item', 'price.unit_amount') }} as bigint) as unit_amount_minor,
        {{ json_field('item', 'price.recurring.interval') }} as billing_interval,
        cast({{ json_field('item', 'price.recurring.interval_count') }} as bigint) as billing_interval_count,
        {{ json_field('item', 'price.recurring.usage_type') }} as usage_type,
        {{ epoch_seconds_to_timestamp('observed_epoch') }} as observed_at
    from items
)

select * from final
