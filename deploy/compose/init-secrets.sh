#!/usr/bin/env bash
# Writes the Compose deployment's secrets under deploy/compose/secrets/ (git-ignored), once:
#   auth_jwt_secret       AUTH_JWT_SECRET of every API replica (HS256, 64 hex characters)
#   clickhouse_password   the password of ClickHouse user `metrics`, read by the services
#   clickhouse-users.xml  that user for the ClickHouse servers (SHA-256 of the password only)
#   s3_secret_key         the secret key of the S3 store's identity `sending-metrics` (download files)
#   s3.json               that identity for the store (SeaweedFS's S3 configuration)
# Existing files are kept, so tokens stay valid across runs; delete the folder to rotate.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
mkdir -p secrets
chmod 700 secrets
random() { node -e 'process.stdout.write(require("node:crypto").randomBytes(32).toString("hex"))'; }
[[ -s secrets/auth_jwt_secret ]] || { random > secrets/auth_jwt_secret; echo "wrote secrets/auth_jwt_secret"; }
[[ -s secrets/clickhouse_password ]] || { random > secrets/clickhouse_password; echo "wrote secrets/clickhouse_password"; }
[[ -s secrets/s3_secret_key ]] || { random > secrets/s3_secret_key; echo "wrote secrets/s3_secret_key"; }
cat > secrets/s3.json <<JSON
{"identities":[{"name":"sending-metrics","credentials":[{"accessKey":"sending-metrics","secretKey":"$(cat secrets/s3_secret_key)"}],"actions":["Read","Write","List","Tagging"]}]}
JSON
hash="$(node -e 'process.stdout.write(require("node:crypto").createHash("sha256").update(require("node:fs").readFileSync(process.argv[1], "utf8")).digest("hex"))' secrets/clickhouse_password)"
cat > secrets/clickhouse-users.xml <<XML
<clickhouse>
    <users>
        <metrics>
            <password_sha256_hex>${hash}</password_sha256_hex>
            <networks><ip>::/0</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
            <access_management>0</access_management>
            <grants><query>GRANT ALL ON default.*</query><query>GRANT CLUSTER ON *.*</query><query>GRANT SELECT ON system.*</query></grants>
        </metrics>
    </users>
</clickhouse>
XML
chmod 644 secrets/*
echo "secrets ready in deploy/compose/secrets/"
