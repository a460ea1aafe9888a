-- Offsets of the event topics the ingest consumed without writing a row: dead letters and
-- duplicates (an eventId already counted), recorded with their batch before its offsets are
-- committed. With the raw tables' kafka_partition/kafka_offset they account for every offset
-- below the committed one, which `sending-metrics verify` checks. A batch written again after a
-- crash records the same offsets again: readers count distinct offsets.
CREATE TABLE IF NOT EXISTS ingest_skipped
(
    group_id    String,
    topic       String,
    partition   UInt32,
    offset      UInt64,
    kind        LowCardinality(String),
    recorded_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(recorded_at)
ORDER BY (group_id, topic, partition, offset);
