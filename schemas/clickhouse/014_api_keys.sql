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
