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
