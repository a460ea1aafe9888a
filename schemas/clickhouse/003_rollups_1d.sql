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
