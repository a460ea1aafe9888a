-- Event ids of the last 25 hours ordered by (event type, tenant, id), so that the ingest can ask,
-- once per batch, whether any of the batch's ids was already written from another partition
-- (an eventId reused under another key). Holds the same rows as ingest_event_ids, which is
-- ordered by partition and offset for warming the per-partition index. It starts empty: ids
-- written before this migration are not looked up across partitions (they age out within 25 h).

CREATE TABLE IF NOT EXISTS ingest_event_ids_by_id
(
    tenant_id       LowCardinality(String),
    event_id        String,
    kafka_topic     LowCardinality(String),
    kafka_partition UInt32,
    kafka_offset    UInt64,
    ingested_at     DateTime('UTC')
)
ENGINE = MergeTree
ORDER BY (kafka_topic, tenant_id, event_id)
TTL ingested_at + INTERVAL 25 HOUR
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS assignment_event_ids_by_id_mv TO ingest_event_ids_by_id
AS SELECT
    tenant_id,
    event_id,
    'assignment' AS kafka_topic,
    kafka_partition,
    kafka_offset,
    toDateTime(ingested_at, 'UTC') AS ingested_at
FROM assignment_events;

CREATE MATERIALIZED VIEW IF NOT EXISTS delivery_event_ids_by_id_mv TO ingest_event_ids_by_id
AS SELECT
    tenant_id,
    event_id,
    'delivery' AS kafka_topic,
    kafka_partition,
    kafka_offset,
    toDateTime(ingested_at, 'UTC') AS ingested_at
FROM delivery_events;

