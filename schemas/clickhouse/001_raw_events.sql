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
