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
