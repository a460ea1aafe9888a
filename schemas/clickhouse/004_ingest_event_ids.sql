-- Event ids seen in the last 25 hours with where they came from: the ingest looks up
-- duplicate eventIds here (a record published twice within 24 hours counts once).
-- kafka_topic is the event type ('assignment' / 'delivery'), not the prefixed topic name.

CREATE TABLE IF NOT EXISTS ingest_event_ids
(
    tenant_id       LowCardinality(String),
    event_id        String,
    kafka_topic     LowCardinality(String),
    kafka_partition UInt32,
    kafka_offset    UInt64,
    ingested_at     DateTime('UTC')
)
ENGINE = MergeTree
ORDER BY (kafka_topic, kafka_partition, kafka_offset)
TTL ingested_at + INTERVAL 25 HOUR
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS assignment_event_ids_mv TO ingest_event_ids
AS SELECT
    tenant_id,
    event_id,
    'assignment' AS kafka_topic,
    kafka_partition,
    kafka_offset,
    toDateTime(ingested_at, 'UTC') AS ingested_at
FROM assignment_events;

CREATE MATERIALIZED VIEW IF NOT EXISTS delivery_event_ids_mv TO ingest_event_ids
AS SELECT
    tenant_id,
    event_id,
    'delivery' AS kafka_topic,
    kafka_partition,
    kafka_offset,
    toDateTime(ingested_at, 'UTC') AS ingested_at
FROM delivery_events;
