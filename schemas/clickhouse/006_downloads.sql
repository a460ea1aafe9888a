-- Queued CSV downloads. Every state change inserts a new row with a higher version;
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
