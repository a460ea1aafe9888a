-- How far each partition is written, per consumer group: after a batch's rows are inserted (and its
-- dead letters and duplicates recorded), and before its offsets are committed, the ingest records
-- the batch's last offset here. A record at or below it was counted by an earlier batch, so when
-- it is read again — a `replay` of any age, records fetched again after a rebalance or a crash —
-- it is skipped (and its offset committed), never written again. The insert deduplication token
-- alone protects a batch written again only while ClickHouse remembers it (the last 1,000 blocks).
-- One row per batch until merges keep the latest per partition (readers take argMax by
-- written_at); no TTL: a replay may go back as far as the topic's retention.
CREATE TABLE IF NOT EXISTS ingest_written
(
    group_id    String,
    topic       String,
    partition   UInt32,
    last_offset UInt64,
    written_at  DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(written_at)
ORDER BY (group_id, topic, partition);
