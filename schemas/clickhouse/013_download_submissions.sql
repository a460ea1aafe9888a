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
