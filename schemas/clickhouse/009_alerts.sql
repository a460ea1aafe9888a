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
