-- One row per batch the ingest has written: which offsets of which partition it covered.
CREATE TABLE IF NOT EXISTS ingest_batches
(
    group_id     String,
    topic        String,
    partition    UInt32,
    first_offset UInt64,
    last_offset  UInt64,
    created_at   DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = MergeTree
ORDER BY (group_id, topic, partition, first_offset)
TTL toDateTime(created_at) + INTERVAL 7 DAY;
