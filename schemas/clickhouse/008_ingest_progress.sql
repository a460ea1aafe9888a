-- What the ingest has counted, as observed from the broker: every INGEST_LAG_REFRESH_MS each
-- ingest process inserts one row per partition it owns, with `observed_at` taken before it asked
-- for the partition's high watermark, and the group's committed offset read after (committed -1,
-- none yet, is stored as the partition's low watermark). The ingest commits only what it has
-- written, so once a partition's committed offset reaches the high watermark of a row, every
-- record published to that partition before the row's `observed_at` is counted: the API reads
-- its `freshness` (countedThrough, lagEvents, lagSeconds) from here, whichever replica answers.
-- Several processes may write rows for one partition (rebalances): the latest `observed_at` wins.
CREATE TABLE IF NOT EXISTS ingest_progress
(
    group_id         String,
    topic            String,
    partition        UInt32,
    observed_at      DateTime64(3, 'UTC'),
    high_watermark   UInt64,
    committed_offset UInt64,
    instance_id      String
)
ENGINE = MergeTree
ORDER BY (group_id, topic, partition, observed_at)
TTL toDateTime(observed_at) + INTERVAL 2 DAY;
