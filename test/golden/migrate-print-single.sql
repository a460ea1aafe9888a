-- sending-metrics migrate: one server (CLICKHOUSE_CLUSTER unset).
-- Applied in this order; a file schema_migrations already records is skipped.

-- schema_migrations
CREATE TABLE IF NOT EXISTS schema_migrations
(
    version    UInt32,
    name       String,
    checksum   String,
    applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = MergeTree
ORDER BY version;

-- 001_raw_events.sql
-- Raw event tables: one row per accepted Kafka record, written by the ingest service.
-- The ORDER BY key starts with (tenant_id, occurred_at) so that range reads at the edges of a
-- query are index range scans. non_replicated_deduplication_window lets a retried insert with
-- the same insert_deduplication_token be dropped (a Replicated* table does this by itself).

CREATE TABLE IF NOT EXISTS assignment_events
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
ENGINE = MergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (tenant_id, occurred_at, event_id)
SETTINGS non_replicated_deduplication_window = 1000;

-- playbook_id and campaign_id are '' when the message belongs to no playbook / campaign.
CREATE TABLE IF NOT EXISTS delivery_events
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
ENGINE = MergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (tenant_id, occurred_at, event_id)
SETTINGS non_replicated_deduplication_window = 1000;

-- 002_rollups_15m.sql
-- 15-minute rollups fed by materialized views from the raw tables. 15 minutes, not an hour:
-- every local hour and day boundary of every modern time zone (including +05:30 and +05:45)
-- falls on a 15-minute UTC boundary, so whole buckets can be assigned to local hours and days
-- exactly. Rows of one key may sit in several parts until a merge: queries always sum().
-- Each target has its own non_replicated_deduplication_window so that a retried block
-- (insert_deduplication_token + deduplicate_blocks_in_dependent_materialized_views = 1) is
-- dropped here as well as in the raw table.

CREATE TABLE IF NOT EXISTS assignment_counts_15m
(
    tenant_id   LowCardinality(String),
    bucket      DateTime('UTC'),
    playbook_id String,
    campaign_id String,
    entries     UInt64,
    exits       UInt64
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(bucket)
ORDER BY (tenant_id, bucket, playbook_id, campaign_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS assignment_counts_15m_mv TO assignment_counts_15m
AS SELECT
    tenant_id,
    toStartOfFifteenMinutes(occurred_at) AS bucket,
    playbook_id,
    campaign_id,
    countIf(action = 'entered') AS entries,
    countIf(action = 'exited') AS exits
FROM assignment_events
GROUP BY tenant_id, bucket, playbook_id, campaign_id;

CREATE TABLE IF NOT EXISTS delivery_counts_15m
(
    tenant_id   LowCardinality(String),
    bucket      DateTime('UTC'),
    channel     Enum8('sms' = 1, 'email' = 2),
    status      Enum8('sent' = 1, 'failed' = 2, 'rejected' = 3, 'expired' = 4, 'delivered' = 5, 'bounced' = 6, 'blocked' = 7, 'spam_reported' = 8),
    playbook_id String,
    campaign_id String,
    events      UInt64
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(bucket)
ORDER BY (tenant_id, bucket, channel, status, playbook_id, campaign_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS delivery_counts_15m_mv TO delivery_counts_15m
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

-- The display names of a playbook + campaign. The latest name by event time wins; a merge
-- may not have happened yet, so readers take argMax(..., named_at) (or FINAL).
CREATE TABLE IF NOT EXISTS campaign_names
(
    tenant_id     LowCardinality(String),
    playbook_id   String,
    campaign_id   String,
    playbook_name String,
    campaign_name String,
    named_at      DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(named_at)
ORDER BY (tenant_id, playbook_id, campaign_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS campaign_names_mv TO campaign_names
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
-- Daily rollups (UTC days), fed like the 15-minute ones straight from the raw tables. A range
-- of many days reads one row per day and key here instead of 96, then only the partial days
-- at its edges from the 15-minute rollups and the partial 15 minutes from the raw tables.
-- Same deduplication setting as every other view target.

CREATE TABLE IF NOT EXISTS assignment_counts_1d
(
    tenant_id   LowCardinality(String),
    bucket      DateTime('UTC'),
    playbook_id String,
    campaign_id String,
    entries     UInt64,
    exits       UInt64
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(bucket)
ORDER BY (tenant_id, bucket, playbook_id, campaign_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS assignment_counts_1d_mv TO assignment_counts_1d
AS SELECT
    tenant_id,
    toStartOfDay(occurred_at, 'UTC') AS bucket,
    playbook_id,
    campaign_id,
    countIf(action = 'entered') AS entries,
    countIf(action = 'exited') AS exits
FROM assignment_events
GROUP BY tenant_id, bucket, playbook_id, campaign_id;

CREATE TABLE IF NOT EXISTS delivery_counts_1d
(
    tenant_id   LowCardinality(String),
    bucket      DateTime('UTC'),
    channel     Enum8('sms' = 1, 'email' = 2),
    status      Enum8('sent' = 1, 'failed' = 2, 'rejected' = 3, 'expired' = 4, 'delivered' = 5, 'bounced' = 6, 'blocked' = 7, 'spam_reported' = 8),
    playbook_id String,
    campaign_id String,
    events      UInt64
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(bucket)
ORDER BY (tenant_id, bucket, channel, status, playbook_id, campaign_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS delivery_counts_1d_mv TO delivery_counts_1d
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

-- 005_ingest_batches.sql
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

-- 006_downloads.sql
-- readers take the latest version (FINAL or argMax), never rely on merges.
CREATE TABLE IF NOT EXISTS downloads
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
ENGINE = ReplacingMergeTree(version)
ORDER BY (tenant_id, id);

-- 007_ingest_event_ids_by_id.sql
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

-- 008_ingest_progress.sql
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

-- 009_alerts.sql
-- Alert rules of a tenant: the whole rule set as one JSON document (a PUT replaces it) and the
-- tenant's webhook secret (the HMAC key of its notifications; never returned by the API).
-- The latest updated_at wins; readers take it with ORDER BY … LIMIT 1 BY, never rely on merges.
CREATE TABLE IF NOT EXISTS alert_rules
(
    tenant_id      String,
    rules          String,
    webhook_secret String,
    updated_at     DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY tenant_id;

-- Every state change of a rule, and its notification. The key is (tenant, rule, the rule's
-- fingerprint, seq): seq is the previous change's + 1, so whoever evaluates a rule after a
-- restart or a rebalance continues its sequence, and the change's id (the notification's
-- idempotency key) is the same for everyone. A notification's progress (status, attempts,
-- next attempt) is a new row with a higher version; readers take the latest version.
CREATE TABLE IF NOT EXISTS alert_events
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
ENGINE = ReplacingMergeTree(version)
ORDER BY (tenant_id, rule_id, rule_fingerprint, seq);

-- 010_ingest_skipped.sql
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

-- 011_ingest_event_id_hashes.sql
-- Event ids of the last 25 hours keyed by a 64-bit hash of (tenant, id), replacing
-- ingest_event_ids_by_id for the ingest's once-per-batch question "was any of these ids already
-- written from another partition?". The batch sends its ids' hashes (UInt64: computed by the
-- ingest with the same xxHash64, cheap to send and to compare) instead of the ids as strings,
-- which the engine parsed and compared two to three times slower; the rows found are compared
-- with the batch's ids exactly, so a hash collision never drops an event. A batch's hashes
-- are spread over the whole key range, so a lookup still reads about the whole table (smaller
-- granules, 128 to 1024 rows, measured no faster).
CREATE TABLE IF NOT EXISTS ingest_event_id_hashes
(
    kafka_topic     LowCardinality(String),
    id_hash         UInt64,
    tenant_id       LowCardinality(String),
    event_id        String,
    kafka_partition UInt32,
    kafka_offset    UInt64,
    ingested_at     DateTime('UTC')
)
ENGINE = MergeTree
ORDER BY (kafka_topic, id_hash)
TTL ingested_at + INTERVAL 25 HOUR
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS assignment_event_id_hashes_mv TO ingest_event_id_hashes
AS SELECT
    'assignment' AS kafka_topic,
    xxHash64(concat(tenant_id, '\0', event_id)) AS id_hash,
    tenant_id,
    event_id,
    kafka_partition,
    kafka_offset,
    toDateTime(ingested_at, 'UTC') AS ingested_at
FROM assignment_events;

CREATE MATERIALIZED VIEW IF NOT EXISTS delivery_event_id_hashes_mv TO ingest_event_id_hashes
AS SELECT
    'delivery' AS kafka_topic,
    xxHash64(concat(tenant_id, '\0', event_id)) AS id_hash,
    tenant_id,
    event_id,
    kafka_partition,
    kafka_offset,
    toDateTime(ingested_at, 'UTC') AS ingested_at
FROM delivery_events;

-- The old table's views go first (every insert fed them), then the table.
DROP VIEW IF EXISTS assignment_event_ids_by_id_mv;

DROP VIEW IF EXISTS delivery_event_ids_by_id_mv;

DROP TABLE IF EXISTS ingest_event_ids_by_id;

-- The ids written in the last 25 hours, from ingest_event_ids (the same rows, ordered by
-- partition): run once. Rows the new views wrote meanwhile may be copied twice, which the
-- lookup does not mind (it collects locations).
INSERT INTO ingest_event_id_hashes (kafka_topic, id_hash, tenant_id, event_id, kafka_partition, kafka_offset, ingested_at)
SELECT kafka_topic, xxHash64(concat(tenant_id, '\0', event_id)), tenant_id, event_id, kafka_partition, kafka_offset, ingested_at
FROM ingest_event_ids
WHERE ingested_at >= now() - INTERVAL 25 HOUR
SETTINGS insert_distributed_sync = 1;

-- 012_ingest_written.sql
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

-- 013_download_submissions.sql
-- Every POST /v1/downloads that got past the quick checks, and what was decided for it. The
-- hourly quota and identical requests are decided from this table, the same way by every replica:
-- a submission is inserted (decision ''), then the tenant's submissions of the last hour are read
-- back in (submitted_at, id) order — submitted_at is the server's clock at the insert — and walked:
-- an identical request (same request_key) to an earlier accepted or undecided one is its duplicate,
-- the next ones are accepted while fewer than the quota were, the rest refused. The decision
-- (accepted, duplicate, refused, or withdrawn when an accepted job could not be handed to Kafka) is
-- a new row with a higher version; readers take the latest version.
CREATE TABLE IF NOT EXISTS download_submissions
(
    tenant_id    String,
    id           String,
    request_key  String,
    submitted_at DateTime64(6, 'UTC') DEFAULT now64(6),
    decision     LowCardinality(String),
    job_id       String,
    version      UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (tenant_id, id)
TTL toDateTime(submitted_at) + INTERVAL 2 DAY;

-- 014_api_keys.sql
-- Producers' API keys: long-lived, one tenant each, allowed only to publish events (events:write).
-- A key is `smk_<key_id>_<secret>`; only the SHA-256 of the secret (hex) is kept, and the key is
-- shown once, when it is created. Revoking inserts the key's row again with revoked_at set and a
-- later updated_at; readers take the latest row of a key (ORDER BY … LIMIT 1 BY), never rely on merges.
-- Keys are looked up by key_id from every API replica (not sharded: a key's tenant is unknown until it is read).
CREATE TABLE IF NOT EXISTS api_keys
(
    tenant_id   String,
    key_id      String,
    secret_hash String,
    name        String,
    created_at  DateTime64(3, 'UTC'),
    revoked_at  Nullable(DateTime64(3, 'UTC')),
    updated_at  DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY key_id;

-- 015_privacy_erasures.sql
-- Erasure requests (GDPR Art. 17): one row per state of a request, the latest by version. The
-- customer's id is never stored: customer_hash is the hex HMAC-SHA256 of the id under a key derived
-- (HKDF) from the deployment's AUTH_JWT_SECRET and the tenant, so a later request for the same
-- customer can be matched without keeping who it was. rows_changed counts the raw event rows whose
-- identifiers were replaced; files_deleted the download files deleted because they held the customer.
-- Readers take the latest row of a request (ORDER BY version DESC LIMIT 1 BY), never rely on merges.
-- Not sharded: a request is looked up by id from every API replica.
CREATE TABLE IF NOT EXISTS privacy_erasures
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
ENGINE = ReplacingMergeTree(version)
ORDER BY (tenant_id, id);
