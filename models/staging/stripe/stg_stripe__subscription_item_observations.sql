-- One row per subscription item in each observed state of a subscription: the states carried
-- by customer.subscription.* events (data.object, as of the event) and the states the pipeline
-- stored in subscription_history (as of the load that saw them). JSON unnesting is DuckDB's.

with events as (
    select * from {{ source_or_empty('stripe', 'events', {
            'id': 'varchar',
            'type': 'varchar',
            'created': 'bigint',
            'data': 'json',
        }) }}
),

history as (
    select * from {{ source_or_empty('stripe', 'subscription_history', {
            '_dlt_id': 'varchar',
            '_dlt_load_id': 'varchar',
            'state': 'json',
        }) }}
),

observations as (
    select
        id as observation_id,
        'event' as observed_via,
        created as observed_epoch,
        data -> '$.object' as subscription_object
    from events
    where type like 'customer.subscription.%'
    union all
    select
        _dlt_id as observation_id,
        'pipeline_load' as observed_via,
        cast(floor(cast(_dlt_load_id as double)) as bigint) as observed_epoch,
        state as subscription_object
    from history
),

items as (
    select
        observation_id,
        observed_via,
        observed_epoch,
        subscription_object ->> '$.id' as subscription_id,
        unnest(from_json(subscription_object -> '$.items.data', '["json"]')) as item
    from observations
),

final as (
    select
        observation_id,
        observed_via,
        subscription_id,
        item ->> '$.id' as subscription_item_id,
        item ->> '$.price.id' as price_id,
        cast(item ->> '$.quantity' as bigint) as quantity,
        cast(item ->> '$.price.unit_amount' as bigint) as unit_amount_minor,
        item ->> '$.price.recurring.interval' as billing_interval,
        cast(item ->> '$.price.recurring.interval_count' as bigint) as billing_interval_count,
        item ->> '$.price.recurring.usage_type' as usage_type,
        {{ epoch_seconds_to_timestamp('observed_epoch') }} as observed_at
    from items
)

select * from final
