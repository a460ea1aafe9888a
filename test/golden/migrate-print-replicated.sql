-- sending-metrics migrate: replicated on cluster 'c', Keeper path '/clickhouse/tables/{shard}/{database}/{table}', replica '{replica}'.
-- Applied in this order; a file schema_migrations already records is skipped.

-- schema_migrations
CREATE TABLE IF NOT EXISTS schema_migrations ON CLUSTER 'c'
(
    version    UInt32,
    name       String,
    checksum   String,
    applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY version;

-- 001_raw_events.sql
CREATE TABLE IF NOT EXISTS assignment_events ON CLUSTER 'c'
(
    tenant_id       LowCardinality(String),
    occurred_at     DateTime64(3, 'UTC'),
    event_id        String,
    customer_id     String,
    playbook_id     String,
    playbook_name   String,
    campaign_id     String,
    campaign_name   String,
    action          Enum8('entered' = 1, 'exited' = 2),
    kafka_partition UInt32,
    kafka_offset    UInt64,
    ingested_at     DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (tenant_id, occurred_at, event_id)
SETTINGS replicated_deduplication_window = 10000, replicated_deduplication_window_seconds = 604800;

CREATE TABLE IF NOT EXISTS delivery_events ON CLUSTER 'c'
(
    tenant_id       LowCardinality(String),
    occurred_at     DateTime64(3, 'UTC'),
    event_id        String,
    customer_id     String,
    message_id      String,
    channel         Enum8('sms' = 1, 'email' = 2),
    status          Enum8('sent' = 1, 'failed' = 2, 'rejected' = 3, 'expired' = 4, 'delivered' = 5, 'bounced' = 6, 'blocked' = 7, 'spam_reported' = 8),
    playbook_id     String,
    campaign_id     String,
    reason          Nullable(String),
    kafka_partition UInt32,
    kafka_offset    UInt64,
    ingested_at     DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (tenant_id, occurred_at, event_id)
SETTINGS replicated_deduplication_window = 10000, replicated_deduplication_window_seconds = 604800;

-- 002_rollups_15m.sql
CREATE TABLE IF NOT EXISTS assignment_counts_15m ON CLUSTER 'c'
(
    tenant_id   LowCardinality(String),
    bucket      DateTime('UTC'),
    playbook_id String,
    campaign_id String,
    entries     UInt64,
    exits       UInt64
)
ENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PARTITION BY toYYYYMM(bucket)
ORDER BY (tenant_id, bucket, playbook_id, campaign_id)
SETTINGS replicated_deduplication_window = 10000, replicated_deduplication_window_seconds = 604800;

CREATE MATERIALIZED VIEW IF NOT EXISTS assignment_counts_15m_mv ON CLUSTER 'c' TO assignment_counts_15m
AS SELECT
    tenant_id,
    toStartOfFifteenMinutes(occurred_at) AS bucket,
    playbook_id,
    campaign_id,
    countIf(action = 'entered') AS entries,
    countIf(action = 'exited') AS exits
FROM assignment_events
GROUP BY tenant_id, bucket, playbook_id, campaign_id;

CREATE TABLE IF NOT EXISTS delivery_counts_15m ON CLUSTER 'c'
(
    tenant_id   LowCardinality(String),
    bucket      DateTime('UTC'),
    channel     Enum8('sms' = 1, 'email' = 2),
    status      Enum8('sent' = 1, 'failed' = 2, 'rejected' = 3, 'expired' = 4, 'delivered' = 5, 'bounced' = 6, 'blocked' = 7, 'spam_reported' = 8),
    playbook_id String,
    campaign_id String,
    events      UInt64
)
ENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PARTITION BY toYYYYMM(bucket)
ORDER BY (tenant_id, bucket, channel, status, playbook_id, campaign_id)
SETTINGS replicated_deduplication_window = 10000, replicated_deduplication_window_seconds = 604800;

CREATE MATERIALIZED VIEW IF NOT EXISTS delivery_counts_15m_mv ON CLUSTER 'c' TO delivery_counts_15m
AS SELECT
    tenant_id,
    toStartOfFifteenMinutes(occurred_at) AS bucket,
    channel,
    status,
    playbook_id,
    campaign_id,
    count() AS events
FROM delivery_events
GROUP BY tenant_id, bucket, channel, status, playbook_id, campaign_id;

CREATE TABLE IF NOT EXISTS campaign_names ON CLUSTER 'c'
(
    tenant_id     LowCardinality(String),
    playbook_id   String,
    campaign_id   String,
    playbook_name String,
    campaign_name String,
    named_at      DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', named_at)
ORDER BY (tenant_id, playbook_id, campaign_id)
SETTINGS replicated_deduplication_window = 10000, replicated_deduplication_window_seconds = 604800;

CREATE MATERIALIZED VIEW IF NOT EXISTS campaign_names_mv ON CLUSTER 'c' TO campaign_names
AS SELECT
    tenant_id,
    playbook_id,
    campaign_id,
    argMax(playbook_name, occurred_at) AS playbook_name,
    argMax(campaign_name, occurred_at) AS campaign_name,
    max(occurred_at) AS named_at
FROM assignment_events
GROUP BY tenant_id, playbook_id, campaign_id;

-- 003_rollups_1d.sql
CREATE TABLE IF NOT EXISTS assignment_counts_1d ON CLUSTER 'c'
(
    tenant_id   LowCardinality(String),
    bucket      DateTime('UTC'),
    playbook_id String,
    campaign_id String,
    entries     UInt64,
    exits       UInt64
)
ENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PARTITION BY toYYYYMM(bucket)
ORDER BY (tenant_id, bucket, playbook_id, campaign_id)
SETTINGS replicated_deduplication_window = 10000, replicated_deduplication_window_seconds = 604800;

CREATE MATERIALIZED VIEW IF NOT EXISTS assignment_counts_1d_mv ON CLUSTER 'c' TO assignment_counts_1d
AS SELECT
    tenant_id,
    toStartOfDay(occurred_at, 'UTC') AS bucket,
    playbook_id,
    campaign_id,
    countIf(action = 'entered') AS entries,
    countIf(action = 'exited') AS exits
FROM assignment_events
GROUP BY tenant_id, bucket, playbook_id, campaign_id;

CREATE TABLE IF NOT EXISTS delivery_counts_1d ON CLUSTER 'c'
(
    tenant_id   LowCardinality(String),
    bucket      DateTime('UTC'),
    channel     Enum8('sms' = 1, 'email' = 2),
    status      Enum8('sent' = 1, 'failed' = 2, 'rejected' = 3, 'expired' = 4, 'delivered' = 5, 'bounced' = 6, 'blocked' = 7, 'spam_reported' = 8),
    playbook_id String,
    campaign_id String,
    events      UInt64
)
ENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
PARTITION BY toYYYYMM(bucket)
ORDER BY (tenant_id, bucket, channel, status, playbook_id, campaign_id)
SETTINGS replicated_deduplication_window = 10000, replicated_deduplication_window_seconds = 604800;

CREATE MATERIALIZED VIEW IF NOT EXISTS delivery_counts_1d_mv ON CLUSTER 'c' TO delivery_counts_1d
AS SELECT
    tenant_id,
    toStartOfDay(occurred_at, 'UTC') AS bucket,
    channel,
    status,
    playbook_id,
    campaign_id,
    count() AS events
FROM delivery_events
GROUP BY tenant_id, bucket, channel, status, playbook_id, campaign_id;

-- 004_ingest_event_ids.sql
CREATE TABLE IF NOT EXISTS ingest_event_ids ON CLUSTER 'c'
(
    tenant_id       LowCardinality(String),
    event_id        String,
    kafka_topic     LowCardinality(String),
    kafka_partition UInt32,
    kafka_offset    UInt64,
    ingested_at     DateTime('UTC')
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY (kafka_topic, kafka_partition, kafka_offset)
TTL ingested_at + INTERVAL 25 HOUR
SETTINGS replicated_deduplication_window = 10000, replicated_deduplication_window_seconds = 604800;

CREATE MATERIALIZED VIEW IF NOT EXISTS assignment_event_ids_mv ON CLUSTER 'c' TO ingest_event_ids
AS SELECT
    tenant_id,
    event_id,
    'assignment' AS kafka_topic,
    kafka_partition,
    kafka_offset,
    toDateTime(ingested_at, 'UTC') AS ingested_at
FROM assignment_events;

CREATE MATERIALIZED VIEW IF NOT EXISTS delivery_event_ids_mv ON CLUSTER 'c' TO ingest_event_ids
AS SELECT
    tenant_id,
    event_id,
    'delivery' AS kafka_topic,
    kafka_partition,
    kafka_offset,
    toDateTime(ingested_at, 'UTC') AS ingested_at
FROM delivery_events;

-- 005_ingest_batches.sql
CREATE TABLE IF NOT EXISTS ingest_batches ON CLUSTER 'c'
(
    group_id     String,
    topic        String,
    partition    UInt32,
    first_offset UInt64,
    last_offset  UInt64,
    created_at   DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY (group_id, topic, partition, first_offset)
TTL toDateTime(created_at) + INTERVAL 7 DAY;

-- 006_downloads.sql
CREATE TABLE IF NOT EXISTS downloads ON CLUSTER 'c'
(
    id         String,
    tenant_id  String,
    user_id    String,
    export     LowCardinality(String),
    params     String, -- JSON: {"from","to","filters"}
    status     LowCardinality(String),
    rows       UInt64,
    bytes      UInt64,
    error      String,
    file       String,
    created_at DateTime64(3, 'UTC'),
    updated_at DateTime64(3, 'UTC'),
    version    UInt64
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', version)
ORDER BY (tenant_id, id);

-- 007_ingest_event_ids_by_id.sql
CREATE TABLE IF NOT EXISTS ingest_event_ids_by_id ON CLUSTER 'c'
(
    tenant_id       LowCardinality(String),
    event_id        String,
    kafka_topic     LowCardinality(String),
    kafka_partition UInt32,
    kafka_offset    UInt64,
    ingested_at     DateTime('UTC')
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY (kafka_topic, tenant_id, event_id)
TTL ingested_at + INTERVAL 25 HOUR
SETTINGS replicated_deduplication_window = 10000, replicated_deduplication_window_seconds = 604800;

CREATE MATERIALIZED VIEW IF NOT EXISTS assignment_event_ids_by_id_mv ON CLUSTER 'c' TO ingest_event_ids_by_id
AS SELECT
    tenant_id,
    event_id,
    'assignment' AS kafka_topic,
    kafka_partition,
    kafka_offset,
    toDateTime(ingested_at, 'UTC') AS ingested_at
FROM assignment_events;

CREATE MATERIALIZED VIEW IF NOT EXISTS delivery_event_ids_by_id_mv ON CLUSTER 'c' TO ingest_event_ids_by_id
AS SELECT
    tenant_id,
    event_id,
    'delivery' AS kafka_topic,
    kafka_partition,
    kafka_offset,
    toDateTime(ingested_at, 'UTC') AS ingested_at
FROM delivery_events;

-- 008_ingest_progress.sql
CREATE TABLE IF NOT EXISTS ingest_progress ON CLUSTER 'c'
(
    group_id         String,
    topic            String,
    partition        UInt32,
    observed_at      DateTime64(3, 'UTC'),
    high_watermark   UInt64,
    committed_offset UInt64,
    instance_id      String
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY (group_id, topic, partition, observed_at)
TTL toDateTime(observed_at) + INTERVAL 2 DAY;

-- 009_alerts.sql
CREATE TABLE IF NOT EXISTS alert_rules ON CLUSTER 'c'
(
    tenant_id      String,
    rules          String,
    webhook_secret String,
    updated_at     DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', updated_at)
ORDER BY tenant_id;

CREATE TABLE IF NOT EXISTS alert_events ON CLUSTER 'c'
(
    tenant_id        String,
    rule_id          String,
    rule_fingerprint String,
    seq              UInt64,
    id               String,
    from_state       LowCardinality(String),
    to_state         LowCardinality(String),
    occurred_at      DateTime64(3, 'UTC'),
    payload          String,
    webhook_url      String,
    status           LowCardinality(String),
    attempts         UInt32,
    last_error       String,
    next_attempt_at  DateTime64(3, 'UTC'),
    updated_at       DateTime64(3, 'UTC'),
    version          UInt64
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', version)
ORDER BY (tenant_id, rule_id, rule_fingerprint, seq);

-- 010_ingest_skipped.sql
CREATE TABLE IF NOT EXISTS ingest_skipped ON CLUSTER 'c'
(
    group_id    String,
    topic       String,
    partition   UInt32,
    offset      UInt64,
    kind        LowCardinality(String),
    recorded_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', recorded_at)
ORDER BY (group_id, topic, partition, offset);

-- 011_ingest_event_id_hashes.sql
CREATE TABLE IF NOT EXISTS ingest_event_id_hashes ON CLUSTER 'c'
(
    kafka_topic     LowCardinality(String),
    id_hash         UInt64,
    tenant_id       LowCardinality(String),
    event_id        String,
    kafka_partition UInt32,
    kafka_offset    UInt64,
    ingested_at     DateTime('UTC')
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY (kafka_topic, id_hash)
TTL ingested_at + INTERVAL 25 HOUR
SETTINGS replicated_deduplication_window = 10000, replicated_deduplication_window_seconds = 604800;

CREATE MATERIALIZED VIEW IF NOT EXISTS assignment_event_id_hashes_mv ON CLUSTER 'c' TO ingest_event_id_hashes
AS SELECT
    'assignment' AS kafka_topic,
    xxHash64(concat(tenant_id, '\0', event_id)) AS id_hash,
    tenant_id,
    event_id,
    kafka_partition,
    kafka_offset,
    toDateTime(ingested_at, 'UTC') AS ingested_at
FROM assignment_events;

CREATE MATERIALIZED VIEW IF NOT EXISTS delivery_event_id_hashes_mv ON CLUSTER 'c' TO ingest_event_id_hashes
AS SELECT
    'delivery' AS kafka_topic,
    xxHash64(concat(tenant_id, '\0', event_id)) AS id_hash,
    tenant_id,
    event_id,
    kafka_partition,
    kafka_offset,
    toDateTime(ingested_at, 'UTC') AS ingested_at
FROM delivery_events;

DROP VIEW IF EXISTS assignment_event_ids_by_id_mv ON CLUSTER 'c';

DROP VIEW IF EXISTS delivery_event_ids_by_id_mv ON CLUSTER 'c';

DROP TABLE IF EXISTS ingest_event_ids_by_id ON CLUSTER 'c';

INSERT INTO ingest_event_id_hashes (kafka_topic, id_hash, tenant_id, event_id, kafka_partition, kafka_offset, ingested_at)
SELECT kafka_topic, xxHash64(concat(tenant_id, '\0', event_id)), tenant_id, event_id, kafka_partition, kafka_offset, ingested_at
FROM ingest_event_ids
WHERE ingested_at >= now() - INTERVAL 25 HOUR
SETTINGS insert_distributed_sync = 1;

-- 012_ingest_written.sql
CREATE TABLE IF NOT EXISTS ingest_written ON CLUSTER 'c'
(
    group_id    String,
    topic       String,
    partition   UInt32,
    last_offset UInt64,
    written_at  DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', written_at)
ORDER BY (group_id, topic, partition);

-- 013_download_submissions.sql
CREATE TABLE IF NOT EXISTS download_submissions ON CLUSTER 'c'
(
    tenant_id    String,
    id           String,
    request_key  String,
    submitted_at DateTime64(6, 'UTC') DEFAULT now64(6),
    decision     LowCardinality(String),
    job_id       String,
    version      UInt64
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', version)
ORDER BY (tenant_id, id)
TTL toDateTime(submitted_at) + INTERVAL 2 DAY;

-- 014_api_keys.sql
CREATE TABLE IF NOT EXISTS api_keys ON CLUSTER 'c'
(
    tenant_id   String,
    key_id      String,
    secret_hash String,
    name        String,
    created_at  DateTime64(3, 'UTC'),
    revoked_at  Nullable(DateTime64(3, 'UTC')),
    updated_at  DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', updated_at)
ORDER BY key_id;

-- 015_privacy_erasures.sql
CREATE TABLE IF NOT EXISTS privacy_erasures ON CLUSTER 'c'
(
    id            String,
    tenant_id     String,
    customer_hash String,
    requested_by  String,
    requested_at  DateTime64(3, 'UTC'),
    state         LowCardinality(String),
    done_at       Nullable(DateTime64(3, 'UTC')),
    rows_changed  UInt64,
    files_deleted UInt32,
    error         String,
    version       UInt64
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', version)
ORDER BY (tenant_id, id);
