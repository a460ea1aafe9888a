import {
  brokers,
  clickhouseCluster,
  clickhouseDatabase,
  dataDir,
  downloadsUrl,
  fail,
  flag,
  host,
  instanceId,
  integer,
  jwtSecret,
  logLevel,
  publicUrl,
  ratio,
  schemaRegistry,
  text,
  topicPrefix,
  trustProxy,
  url,
  type Env,
} from './config-parse.js';
import { webhookSecrets } from './webhook-secrets-config.js';

/**
 * Every environment variable the project reads, declared once: `loadConfig` reads the service's
 * variables through `read` (a new variable is one row here), and docs/configuration.md is
 * generated from these rows (`make config-docs`; a test fails when the two drift, and another
 * when code reads a variable that has no row).
 *
 * Why one long file: it is a table (94 rows of name, default, meaning and parser, a few
 * lines each), read top to bottom like the document it generates; split by area it would need an
 * index to keep the order and the one place a reader looks for a variable.
 */

/** Where a variable is read: by the service (`runtime`), or only by tests, benchmarks or scripts. */
export type VariableUse = 'runtime' | 'test' | 'benchmark' | 'script';

export const AREAS = [
  'Service',
  'Kafka and topics',
  'ClickHouse',
  'Authentication',
  'API',
  'Ingest',
  'Alerts',
  'Schema registry',
  'HTTP ingest and provider webhooks',
  'Downloads',
  'Tests, benchmarks and scripts',
] as const;
export type Area = (typeof AREAS)[number];

/** A parser: the variable's name (the row's key) is passed in, so it is written once. */
type Parse = (env: Env, variable: string, ...context: never[]) => unknown;

export interface VariableSpec {
  area: Area;
  use: VariableUse;
  /** The default as the documentation states it (Markdown). */
  default: string;
  /** What the variable means (Markdown): the documented contract. */
  meaning: string;
  /** Where a variable that is not `runtime`, or not read by `loadConfig`, is read. */
  readIn?: string;
  /** How `loadConfig` parses it; absent when another row's parser reads it too (`readIn` says which) or the service does not read it. */
  parse?: Parse;
}

export const CONFIG_SPEC = {
  PORT: {
    area: 'Service',
    use: 'runtime',
    default: '`8080`',
    meaning: 'API port (0: any free port)',
    parse: (env: Env, name: string) => integer(env, name, 8080, 0, 65535),
  },
  HOST: {
    area: 'Service',
    use: 'runtime',
    default: '`127.0.0.1`',
    meaning:
      'interface the API listens on: an IP address (IPv6 without brackets) or a host name; anything else stops the process (exit 78)',
    parse: (env: Env) => host(env),
  },
  DATA_DIR: {
    area: 'Service',
    use: 'runtime',
    default: '`./data`',
    meaning: 'chDB data, local broker data, downloads, dev secret',
    parse: (env: Env, name: string) => dataDir(env, name),
  },
  LOG_LEVEL: {
    area: 'Service',
    use: 'runtime',
    default: '`info`',
    meaning: 'pino level; `info` logs 4xx and 5xx requests, `debug` every request',
    parse: (env: Env, name: string) => logLevel(env, name),
  },
  PUBLIC_URL: {
    area: 'Service',
    use: 'runtime',
    default: '`http://HOST:PORT/` (an IPv6 `HOST` bracketed; `0.0.0.0` or `::`: `http://localhost:PORT/`)',
    meaning:
      'the address users and providers reach the service at: the links in alert notifications, and the URL Twilio signatures are checked against',
    /** `effective` (with the default) for the links; `given` (only when set) for the signatures. */
    parse: (env: Env, name: string, listenHost: string) => ({
      effective: publicUrl(env, listenHost),
      given: url(env, name, ['http:', 'https:'])?.toString(),
    }),
  },
  SHUTDOWN_GRACE_MS: {
    area: 'Service',
    use: 'runtime',
    default: '`10000`',
    meaning:
      'on SIGTERM/SIGINT the API stops accepting, waits this long for in-flight requests and streamed exports, then closes what is still open; the process exits at the latest 20 s after that',
    parse: (env: Env, name: string) => integer(env, name, 10_000, 0, 3_600_000),
  },
  KAFKA_BROKERS: {
    area: 'Kafka and topics',
    use: 'runtime',
    default: 'unset: local broker on `127.0.0.1:$KAFKA_PORT`',
    meaning: 'comma-separated `host:port` list of an existing cluster',
    parse: (env: Env) => brokers(env),
  },
  KAFKA_PORT: {
    area: 'Kafka and topics',
    use: 'runtime',
    default: '`9092`',
    meaning: 'port of the local broker (also read by `deploy/kafka/kafka.sh`)',
    readIn: 'with `KAFKA_BROKERS`; deploy/kafka/kafka.sh; test/support/global-setup.ts',
  },
  TOPIC_PREFIX: {
    area: 'Kafka and topics',
    use: 'runtime',
    default: '`""`',
    meaning: 'put in front of every topic name, e.g. `staging.`',
    parse: (env: Env) => topicPrefix(env),
  },
  TOPIC_PARTITIONS: {
    area: 'Kafka and topics',
    use: 'runtime',
    default: '`6`',
    meaning: 'partitions of topics the service creates',
    parse: (env: Env, name: string) => integer(env, name, 6, 1, 1000),
  },
  TOPIC_REPLICATION_FACTOR: {
    area: 'Kafka and topics',
    use: 'runtime',
    default: "unset: the cluster's `default.replication.factor`",
    meaning: 'replicas of the topics the service creates; larger than the broker count stops with a configuration error (exit 78)',
    parse: (env: Env, name: string) => (env[name] === undefined ? undefined : integer(env, name, 1, 1, 100)),
  },
  CLICKHOUSE_URL: {
    area: 'ClickHouse',
    use: 'runtime',
    default: 'unset: chDB under `DATA_DIR`',
    meaning:
      '`http(s)://user:password@host:port[/database]` of a ClickHouse server or cluster; required with the container image (its default `server` target has no chDB: without it the process exits 78)',
    parse: (env: Env, name: string) => url(env, name, ['http:', 'https:']),
  },
  CLICKHOUSE_DATABASE: {
    area: 'ClickHouse',
    use: 'runtime',
    default: "the URL's path, else `default`",
    meaning: 'database of the tables',
    parse: (env: Env, name: string, clickhouseUrl: URL | undefined) => clickhouseDatabase(env, name, clickhouseUrl),
  },
  CLICKHOUSE_CLUSTER: {
    area: 'ClickHouse',
    use: 'runtime',
    default: 'unset (one server)',
    meaning:
      'cluster for `ON CLUSTER` (a name in `system.clusters` or a macro such as `{cluster}`): migrations create `Replicated*` tables on it and a replicated `schema_migrations` (deploy/clickhouse/README.md)',
    /** The four cluster variables are checked together (sharding needs a cluster, a sharded path needs `{shard}`). */
    parse: (env: Env) => clickhouseCluster(env),
  },
  CLICKHOUSE_SHARDING: {
    area: 'ClickHouse',
    use: 'runtime',
    default: '`none`',
    meaning:
      '`tenant`: also `Distributed` tables over `<name>_local`, sharded by `xxHash64(tenant_id)`; the ingest writes each batch per shard. Needs `CLICKHOUSE_CLUSTER`',
    readIn: 'with `CLICKHOUSE_CLUSTER`',
  },
  CLICKHOUSE_REPLICA_PATH: {
    area: 'ClickHouse',
    use: 'runtime',
    default: '`/clickhouse/tables/{shard}/{database}/{table}`',
    meaning: 'Keeper path of the `Replicated*` tables; must name `{table}` or `{uuid}`, and `{shard}` when sharded',
    readIn: 'with `CLICKHOUSE_CLUSTER`',
  },
  CLICKHOUSE_REPLICA_NAME: {
    area: 'ClickHouse',
    use: 'runtime',
    default: '`{replica}`',
    meaning: 'replica name of the `Replicated*` tables',
    readIn: 'with `CLICKHOUSE_CLUSTER`',
  },
  RAW_RETENTION_DAYS: {
    area: 'ClickHouse',
    use: 'runtime',
    default: 'unset: kept for ever',
    meaning:
      'days raw events are kept, 1 to 36,500: a table TTL drops older rows (rollups are kept); an answer with an edge before the cut-off is exact to 15 minutes there and says so (`precision`)',
    parse: (env: Env, name: string) => (env[name] === undefined ? undefined : integer(env, name, 1, 1, 36_500)),
  },
  AUTH_JWT_SECRET: {
    area: 'Authentication',
    use: 'runtime',
    default: 'unset in dev: generated once under `DATA_DIR/auth`',
    meaning: 'HS256 secret, ≥ 32 characters',
    parse: (env: Env, name: string) => jwtSecret(env, name),
  },
  AUTH_JWKS_URL: {
    area: 'Authentication',
    use: 'runtime',
    default: 'unset: no identity-provider tokens',
    meaning:
      "the identity provider's JSON Web Key Set (e.g. `https://example.okta.com/oauth2/default/v1/keys`); its RS256, ES256 and EdDSA tokens are accepted besides HS256 ones; keys are cached and fetched again on an unknown `kid` (at most every 30 s). https, or http on a loopback host. Needs `AUTH_ISSUER`; see docs/security.md",
    parse: (env: Env, name: string) => {
      const parsed = url(env, name, ['https:', 'http:']);
      if (parsed?.protocol === 'http:' && !['localhost', '127.0.0.1', '[::1]'].includes(parsed.hostname)) {
        fail(name, env[name]!, 'is plain http on a non-loopback host', 'an https URL (http only on localhost, 127.0.0.1 or [::1])');
      }
      return parsed;
    },
  },
  AUTH_ISSUER: {
    area: 'Authentication',
    use: 'runtime',
    default: 'unset (required with `AUTH_JWKS_URL`)',
    meaning: "the `iss` the identity provider's tokens must carry, exactly as they carry it",
    parse: (env: Env, name: string, jwksUrl: URL | undefined) => {
      const issuer = env[name]?.trim();
      if (jwksUrl !== undefined && !issuer) {
        fail(
          name,
          env[name] ?? '',
          'is required with AUTH_JWKS_URL',
          "the provider's issuer, e.g. https://example.okta.com/oauth2/default",
        );
      }
      return issuer || undefined;
    },
  },
  AUTH_AUDIENCE: {
    area: 'Authentication',
    use: 'runtime',
    default: 'unset: not checked',
    meaning:
      "the `aud` the identity provider's tokens must carry (comma-separated: any of them); recommended, so that tokens meant for other services are refused",
    parse: (env: Env, name: string) => {
      const audiences = env[name]
        ?.split(',')
        .map((audience) => audience.trim())
        .filter((audience) => audience !== '');
      return audiences && audiences.length > 0 ? audiences : undefined;
    },
  },
  AUTH_TENANT_CLAIM: {
    area: 'Authentication',
    use: 'runtime',
    default: '`tenant`',
    meaning:
      "the claim of an identity provider's token that names the tenant (e.g. `https://example.com/tenant` for Auth0's namespaced claims)",
    parse: (env: Env, name: string) => {
      const claim = text(env, name, 'tenant').trim();
      if (claim === '') fail(name, env[name] ?? '', 'is empty', 'the name of a claim, e.g. tenant');
      return claim;
    },
  },
  API_KEYS_REFRESH_MS: {
    area: 'Authentication',
    use: 'runtime',
    default: '`10000`',
    meaning:
      "how often each API replica reads the producers' API keys again: a revoked key is refused by every replica within this time (an unknown key id is looked up at most once per second)",
    parse: (env: Env, name: string) => integer(env, name, 10_000, 50, 3_600_000),
  },
  DEV_TENANT: {
    area: 'Authentication',
    use: 'runtime',
    default: '`acme`',
    meaning: 'tenant of the development token printed at start (only when the secret is generated)',
    parse: (env: Env, name: string) => text(env, name, 'acme'),
  },
  API_RATE_LIMIT_PER_MINUTE: {
    area: 'API',
    use: 'runtime',
    default: '`600`',
    meaning: 'requests per minute of one user (tenant + token subject), or of one client address without a valid token',
    parse: (env: Env, name: string) => integer(env, name, 600, 1, 1_000_000),
  },
  API_RATE_LIMIT_PER_TENANT_PER_MINUTE: {
    area: 'API',
    use: 'runtime',
    default: '5 × the per-user limit (`3000`)',
    meaning: 'requests per minute of all users of one tenant together',
    // Five users' worth by default: many users of one tenant cannot starve the others.
    parse: (env: Env, name: string, perUser: number) => integer(env, name, 5 * perUser, 1, 100_000_000),
  },
  API_REPLICAS: {
    area: 'API',
    use: 'runtime',
    default: '`1`',
    meaning:
      'API replicas that share the rate limits: each enforces ceil(limit / replicas) of the per-user and per-tenant budgets (the Helm chart sets it)',
    parse: (env: Env, name: string) => integer(env, name, 1, 1, 10_000),
  },
  API_MAX_RANGE_DAYS: {
    area: 'API',
    use: 'runtime',
    default: '`400`',
    meaning: 'longest `from`–`to` range a request may ask for',
    parse: (env: Env, name: string) => integer(env, name, 400, 1, 10_000),
  },
  TRUST_PROXY: {
    area: 'API',
    use: 'runtime',
    default: '`false`',
    meaning:
      "`false`: the client is the TCP peer, `X-Forwarded-For` is ignored. A comma list of the proxies' addresses/CIDRs (e.g. `10.0.0.0/8`): the client is the first address not in the list. `true` only when every connection comes through a proxy that overwrites `X-Forwarded-For`. Hop counts are refused",
    parse: (env: Env) => trustProxy(env),
  },
  FRESHNESS_STALE_AFTER_MS: {
    area: 'API',
    use: 'runtime',
    default: '`30000`',
    meaning:
      'with no ingest progress recorded for this long, `freshness` says `no_consumer` instead of claiming the metrics are current; keep it several times `INGEST_LAG_REFRESH_MS`',
    parse: (env: Env, name: string) => integer(env, name, 30_000, 1, 86_400_000),
  },
  RATE_MINIMUM_VOLUME: {
    area: 'API',
    use: 'runtime',
    default: '`100`',
    meaning:
      "smallest denominator a rate's health is judged at; below it the rate's `health` is `insufficient_volume` (its numerator, denominator and value are still given)",
    parse: (env: Env, name: string) => integer(env, name, 100, 1, 1_000_000_000),
  },
  API_ANSWER_CACHE_ENTRIES: {
    area: 'API',
    use: 'runtime',
    default: '`1000`',
    meaning:
      'metrics answers kept per tenant data version on the embedded engine (every ingest write for a tenant replaces its answers, so none is stale; at most 60 s old); `0` turns it off; not used with `CLICKHOUSE_URL`',
    parse: (env: Env, name: string) => integer(env, name, 1000, 0, 1_000_000),
  },
  API_ANSWER_CACHE_BYTES: {
    area: 'API',
    use: 'runtime',
    default: '`134217728` (128 MiB)',
    meaning:
      "bytes (approximate JSON size) of answers the embedded engine's answer cache keeps; an answer over a quarter of it is not kept",
    parse: (env: Env, name: string) => integer(env, name, 128 * 1024 ** 2, 1024, 64 * 1024 ** 3),
  },
  API_MAX_ANSWER_ROWS: {
    area: 'API',
    use: 'runtime',
    default: '`10000`',
    meaning: 'most rows of a per-campaign answer, and the default `limit`; more rows: `truncated: true` and a `next` cursor',
    parse: (env: Env, name: string) => integer(env, name, 10_000, 1, 1_000_000),
  },
  API_QUERY_TIMEOUT_MS: {
    area: 'API',
    use: 'runtime',
    default: '`10000`',
    meaning: 'execution time limit of each metrics query (ClickHouse `max_execution_time`); past it: 503 `QUERY_TIMEOUT`',
    parse: (env: Env, name: string) => integer(env, name, 10_000, 1, 3_600_000),
  },
  INGEST_GROUP_ID: {
    area: 'Ingest',
    use: 'runtime',
    default: '`sending-metrics-ingest`',
    meaning: 'consumer group of the ingest',
    parse: (env: Env, name: string) => text(env, name, 'sending-metrics-ingest'),
  },
  INGEST_INSTANCE_ID: {
    area: 'Ingest',
    use: 'runtime',
    default: 'host name + a digest of `DATA_DIR`',
    meaning:
      "this process slot's identity in the group (letters, digits, `.`, `_`, `-`): keep it across restarts (e.g. the StatefulSet pod name), never share it between live processes",
    parse: (env: Env, _name: string, dataDirectory: string) => instanceId(env, dataDirectory),
  },
  INGEST_SESSION_TIMEOUT_MS: {
    area: 'Ingest',
    use: 'runtime',
    default: '`30000`',
    meaning: 'consumer session timeout (6000 to 300000)',
    parse: (env: Env, name: string) => integer(env, name, 30_000, 6_000, 300_000),
  },
  INGEST_BATCH_MAX_ROWS: {
    area: 'Ingest',
    use: 'runtime',
    default: '`20000`',
    meaning: 'batch bounds per partition: most rows of a batch',
    parse: (env: Env, name: string) => integer(env, name, 20000, 1, 1_000_000),
  },
  INGEST_BATCH_MAX_MS: {
    area: 'Ingest',
    use: 'runtime',
    default: '`500`',
    meaning: 'batch bounds per partition: longest time a batch is gathered',
    parse: (env: Env, name: string) => integer(env, name, 500, 1, 600_000),
  },
  INGEST_MAX_INVALID_RATIO: {
    area: 'Ingest',
    use: 'runtime',
    default: '`0.5`',
    meaning:
      'the ingest pauses (see `ingest-resume`) when more than this share of the last `INGEST_INVALID_RATIO_WINDOW` records are invalid',
    parse: (env: Env, name: string) => ratio(env, name, 0.5),
  },
  INGEST_INVALID_RATIO_WINDOW: {
    area: 'Ingest',
    use: 'runtime',
    default: '`1000`',
    meaning: 'records the invalid share is measured over',
    parse: (env: Env, name: string) => integer(env, name, 1000, 10, 10_000_000),
  },
  INGEST_DEDUP_MAX_IDS: {
    area: 'Ingest',
    use: 'runtime',
    default: '`2000000`',
    meaning: 'event ids remembered per process for duplicate detection (about 100 bytes each); `0` turns deduplication off',
    parse: (env: Env, name: string) => integer(env, name, 2_000_000, 0, 100_000_000),
  },
  INGEST_DEDUP_WINDOW_HOURS: {
    area: 'Ingest',
    use: 'runtime',
    default: '`24`',
    meaning:
      'hours an `eventId` stays known: a copy written within them (for the same tenant and event type, on any partition or key) is dropped; 1 to 168 (7 days). The id tables keep one hour more (their TTL is set by `migrate` and at start)',
    parse: (env: Env, name: string) => integer(env, name, 24, 1, 168),
  },
  INGEST_DEDUP_INDEX_MAX_IDS: {
    area: 'Ingest',
    use: 'runtime',
    default: '`64000000`',
    meaning:
      'most ids of the window the duplicate index keeps in memory (11 to 24 MB per million ids: 8 bytes a slot, a power of two of slots, rebuilt for 1.5 times the ids when three quarters full); past it, or when `0`, every batch looks its ids up in ClickHouse instead (a cost that grows with the window)',
    parse: (env: Env, name: string) => integer(env, name, 64_000_000, 0, 1_000_000_000),
  },
  INGEST_DEAD_LETTER_MAX_BYTES: {
    area: 'Ingest',
    use: 'runtime',
    default: '`1000000`',
    meaning:
      "largest dead letter sent whole (key, value, headers), also capped by the dead-letter topic's `max.message.bytes`; larger letters are sent truncated",
    parse: (env: Env, name: string) => integer(env, name, 1_000_000, 16_384, 100_000_000),
  },
  INGEST_LAG_REFRESH_MS: {
    area: 'Ingest',
    use: 'runtime',
    default: '`5000`',
    meaning:
      'how often the lag gauges are refreshed from the broker and the ingest records its progress per owned partition in ClickHouse (`ingest_progress`), from which every API replica computes `freshness`',
    parse: (env: Env, name: string) => integer(env, name, 5000, 100, 600_000),
  },
  ALERTS_GROUP_ID: {
    area: 'Alerts',
    use: 'runtime',
    default: '`sending-metrics-alerts`',
    meaning: "the alert evaluators' Kafka consumer group: its members share the tenants (one evaluator acts on a tenant at a time)",
    parse: (env: Env, name: string) => text(env, name, 'sending-metrics-alerts'),
  },
  ALERTS_EVALUATE_EVERY_MS: {
    area: 'Alerts',
    use: 'runtime',
    default: '`60000`',
    meaning: "how often each owned tenant's alert rules are evaluated",
    parse: (env: Env, name: string) => integer(env, name, 60_000, 100, 3_600_000),
  },
  ALERTS_WEBHOOK_TIMEOUT_MS: {
    area: 'Alerts',
    use: 'runtime',
    default: '`5000`',
    meaning: 'a webhook receiver that has not answered by then is cut off (the attempt counts as failed and is retried)',
    parse: (env: Env, name: string) => integer(env, name, 5000, 100, 60_000),
  },
  ALERTS_RETRY_BASE_MS: {
    area: 'Alerts',
    use: 'runtime',
    default: '`30000`',
    meaning: 'the first retry delay of a notification; doubled per attempt up to 1 h, with jitter',
    parse: (env: Env, name: string) => integer(env, name, 30_000, 10, 3_600_000),
  },
  ALERTS_RETRY_FOR_MS: {
    area: 'Alerts',
    use: 'runtime',
    default: '`86400000`',
    meaning: 'retries stop this long after the state change; the notification is then `failed`',
    parse: (env: Env, name: string) => integer(env, name, 86_400_000, 1000, 7 * 86_400_000),
  },
  ALERTS_ALLOW_PRIVATE_WEBHOOKS: {
    area: 'Alerts',
    use: 'runtime',
    default: '`false`',
    meaning:
      '`true` allows http webhooks and hosts on loopback, private, link-local and metadata addresses: local development and tests only',
    parse: (env: Env, name: string) => flag(env, name),
  },
  SCHEMA_REGISTRY_URL: {
    area: 'Schema registry',
    use: 'runtime',
    default: 'unset: no registry',
    meaning:
      'a Confluent-compatible schema registry (Confluent Schema Registry, Apicurio\'s `…/apis/ccompat/v7`, Karapace), `http(s)://host:port[/path]` without credentials in it: the ingest reads Confluent-framed Avro through it, and the producer library (`produce`, `simulate`) writes that framing (see "Producing from other languages" in docs/api.md)',
    /** The URL and its basic auth are checked together (both or neither; no credentials in the URL). */
    parse: (env: Env) => schemaRegistry(env),
  },
  SCHEMA_REGISTRY_USERNAME: {
    area: 'Schema registry',
    use: 'runtime',
    default: 'unset',
    meaning: 'basic auth for the registry (both or neither of the username and the password)',
    readIn: 'with `SCHEMA_REGISTRY_URL`',
  },
  SCHEMA_REGISTRY_PASSWORD: {
    area: 'Schema registry',
    use: 'runtime',
    default: 'unset',
    meaning: 'basic auth for the registry (both or neither); the password is never logged nor echoed in an error',
    readIn: 'with `SCHEMA_REGISTRY_URL`',
  },
  EVENTS_MAX_BODY_BYTES: {
    area: 'HTTP ingest and provider webhooks',
    use: 'runtime',
    default: '`8388608` (8 MiB)',
    meaning:
      'largest body `POST /v1/events` accepts (the webhooks use it only when below their own limits: Twilio 64 KiB, SendGrid 4 MiB); larger: 413 naming the limit',
    parse: (env: Env, name: string) => integer(env, name, 8 * 1024 ** 2, 1024, 1024 ** 3),
  },
  EVENTS_MAX_ITEMS: {
    area: 'HTTP ingest and provider webhooks',
    use: 'runtime',
    default: '`10000`',
    meaning:
      'the most events (JSON array elements, non-blank NDJSON lines, valid or not) one `POST /v1/events` may hold; more: 413 `TOO_MANY_EVENTS`, nothing published',
    parse: (env: Env, name: string) => integer(env, name, 10_000, 1, 1_000_000),
  },
  EVENTS_PUBLISH_TIMEOUT_MS: {
    area: 'HTTP ingest and provider webhooks',
    use: 'runtime',
    default: '`15000`',
    meaning: "how long HTTP ingest and the webhooks wait for the broker's acknowledgement before answering 503",
    parse: (env: Env, name: string) => integer(env, name, 15_000, 100, 600_000),
  },
  WEBHOOK_SECRETS_FILE: {
    area: 'HTTP ingest and provider webhooks',
    use: 'runtime',
    default: 'unset: no webhook is accepted',
    meaning: 'a JSON file of each tenant\'s provider secrets (see "HTTP ingest and provider webhooks" in docs/api.md); never logged',
    /** The file and the inline JSON are read together: one of the two may be set. */
    parse: (env: Env) => webhookSecrets(env),
  },
  WEBHOOK_SECRETS: {
    area: 'HTTP ingest and provider webhooks',
    use: 'runtime',
    default: 'unset',
    meaning: 'the same JSON in the variable itself (e.g. from a secret store); set one of the two',
    readIn: 'with `WEBHOOK_SECRETS_FILE`',
  },
  DOWNLOADS_TTL_HOURS: {
    area: 'Downloads',
    use: 'runtime',
    default: '`168`',
    meaning: 'how long download files are kept',
    parse: (env: Env, name: string) => integer(env, name, 168, 1, 100_000),
  },
  DOWNLOADS_MAX_JOBS_PER_HOUR_PER_TENANT: {
    area: 'Downloads',
    use: 'runtime',
    default: '`30`',
    meaning: 'downloads one tenant may queue per rolling hour',
    parse: (env: Env, name: string) => integer(env, name, 30, 1, 100_000),
  },
  DOWNLOADS_MAX_STORED_BYTES_PER_TENANT: {
    area: 'Downloads',
    use: 'runtime',
    default: '`2147483648` (2 GiB)',
    meaning: 'bytes of download files one tenant may keep at once',
    parse: (env: Env, name: string) => integer(env, name, 2 * 1024 ** 3, 1, Number.MAX_SAFE_INTEGER),
  },
  DOWNLOADS_URL: {
    area: 'Downloads',
    use: 'runtime',
    default: 'unset: `DATA_DIR/downloads`',
    meaning:
      'where queued download files go: unset → files under `DATA_DIR/downloads` (one process); `s3://bucket/prefix` → S3 or an S3-compatible store (needed with more than one replica)',
    parse: (env: Env) => downloadsUrl(env),
  },
  DOWNLOADS_S3_ENDPOINT: {
    area: 'Downloads',
    use: 'runtime',
    default: 'unset (AWS)',
    meaning: 'endpoint of an S3-compatible store, e.g. `http://seaweedfs:8333`; path-style addressing is then used',
    // Empty means unset (a Helm value or Compose variable left blank): AWS itself.
    parse: (env: Env, name: string) => (env[name]?.trim() ? url(env, name, ['http:', 'https:'])?.toString() : undefined),
  },
  DOWNLOADS_S3_MAX_ATTEMPTS: {
    area: 'Downloads',
    use: 'runtime',
    default: '`3`',
    meaning: 'attempts per S3 request before a job fails with the reason',
    parse: (env: Env, name: string) => integer(env, name, 3, 1, 20),
  },
  DOWNLOADS_GROUP_ID: {
    area: 'Downloads',
    use: 'runtime',
    default: '`sending-metrics-downloads`',
    meaning: 'consumer group of the download workers (`--role downloads`)',
    parse: (env: Env, name: string) => text(env, name, 'sending-metrics-downloads'),
  },
  DOWNLOADS_PUBLISH_TIMEOUT_MS: {
    area: 'Downloads',
    use: 'runtime',
    default: '`5000`',
    meaning: 'how long `POST /v1/downloads` waits for Kafka to take a job before 503 (the job is failed, not counted)',
    parse: (env: Env, name: string) => integer(env, name, 5000, 100, 600_000),
  },
  DOWNLOADS_LEASE_MS: {
    area: 'Downloads',
    use: 'runtime',
    default: '`60000`',
    meaning: 'a running download not renewed for this long is run again by another worker',
    parse: (env: Env, name: string) => integer(env, name, 60_000, 3000, 3_600_000),
  },
  AWS_REGION: {
    area: 'Downloads',
    use: 'runtime',
    default: '`us-east-1`',
    meaning: 'region of the downloads bucket',
    parse: (env: Env, name: string) => env[name] ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
  },
  AWS_DEFAULT_REGION: {
    area: 'Downloads',
    use: 'runtime',
    default: '`us-east-1`',
    meaning: 'region of the downloads bucket (when `AWS_REGION` is unset)',
    readIn: 'with `AWS_REGION`',
  },
  AWS_ACCESS_KEY_ID: {
    area: 'Downloads',
    use: 'runtime',
    default: "unset: the AWS SDK's chain (profile, pod or instance role)",
    meaning: 'keys of the downloads bucket, read by the AWS SDK; never logged',
    readIn: 'the AWS SDK; set by test/support/s3.ts and bench/export.ts for the local S3 server',
  },
  AWS_SECRET_ACCESS_KEY: {
    area: 'Downloads',
    use: 'runtime',
    default: "unset: the AWS SDK's chain (profile, pod or instance role)",
    meaning: 'keys of the downloads bucket, read by the AWS SDK; never logged',
    readIn: 'the AWS SDK; set by test/support/s3.ts and bench/export.ts for the local S3 server',
  },
  AWS_SESSION_TOKEN: {
    area: 'Downloads',
    use: 'runtime',
    default: "unset: the AWS SDK's chain (profile, pod or instance role)",
    meaning: 'keys of the downloads bucket, read by the AWS SDK; never logged',
    readIn: 'the AWS SDK',
  },
  KAFKA_VERSION: {
    area: 'Tests, benchmarks and scripts',
    use: 'script',
    default: '`4.4.0`',
    meaning: 'version of the local broker; `3.9.1` runs the 3.9 line',
    readIn: 'deploy/kafka/kafka.sh',
  },
  KAFKA_CONTROLLER_PORT: {
    area: 'Tests, benchmarks and scripts',
    use: 'script',
    default: '`9093`',
    meaning: 'controller port of the local broker',
    readIn: 'deploy/kafka/kafka.sh',
  },
  KAFKA_CLUSTER_PORT: {
    area: 'Tests, benchmarks and scripts',
    use: 'script',
    default: '`29092`',
    meaning: 'first port of the local test cluster',
    readIn: 'deploy/kafka/kafka.sh',
  },
  KAFKA_HEAP: {
    area: 'Tests, benchmarks and scripts',
    use: 'script',
    default: '`512m`, `384m` per cluster node',
    meaning: 'Java heap of the local broker',
    readIn: 'deploy/kafka/kafka.sh',
  },
  REGISTRY_PORT: {
    area: 'Tests, benchmarks and scripts',
    use: 'script',
    default: '`18081`',
    meaning: 'port of the test registry (`deploy/registry/registry.sh`)',
    readIn: 'deploy/registry/registry.sh',
  },
  REGISTRY_HEAP: {
    area: 'Tests, benchmarks and scripts',
    use: 'script',
    default: '`256m`',
    meaning: 'Java heap of the test registry (`deploy/registry/registry.sh`)',
    readIn: 'deploy/registry/registry.sh',
  },
  S3_PORT: {
    area: 'Tests, benchmarks and scripts',
    use: 'test',
    default: '`18333`',
    meaning:
      'S3 port of the local S3-compatible server of the download tests (the master, volume and filer use 18334-18336 and their +10000 gRPC ports)',
    readIn: 'deploy/s3/s3.sh, test/support/s3.ts, bench/export.ts',
  },
  S3_ACCESS_KEY: {
    area: 'Tests, benchmarks and scripts',
    use: 'test',
    default: '`sending-metrics-test`',
    meaning: 'the one identity the local S3 server accepts (test default)',
    readIn: 'deploy/s3/s3.sh, test/support/s3.ts, bench/export.ts',
  },
  S3_SECRET_KEY: {
    area: 'Tests, benchmarks and scripts',
    use: 'test',
    default: '`sending-metrics-test-secret`',
    meaning: 'the one identity the local S3 server accepts (test default)',
    readIn: 'deploy/s3/s3.sh, test/support/s3.ts, bench/export.ts',
  },
  TEST_USE_TESTCONTAINERS: {
    area: 'Tests, benchmarks and scripts',
    use: 'test',
    default: 'unset',
    meaning: '`0` skips Docker even when it answers',
    readIn: 'test/support/global-setup.ts',
  },
  TEST_KEEP_KAFKA: {
    area: 'Tests, benchmarks and scripts',
    use: 'test',
    default: 'unset',
    meaning: '`1` leaves the broker the tests started running',
    readIn: 'test/support/global-setup.ts',
  },
  TEST_SCHEMA_REGISTRY_URL: {
    area: 'Tests, benchmarks and scripts',
    use: 'test',
    default: "unset: the project's Apicurio",
    meaning: 'a Confluent-compatible registry of your own for the tests',
    readIn: 'test/support/schema-registry.ts, scripts',
  },
  TEST_KEEP_REGISTRY: {
    area: 'Tests, benchmarks and scripts',
    use: 'test',
    default: 'unset',
    meaning: '`1` leaves the registry the tests started running',
    readIn: 'test/support/schema-registry.ts',
  },
  TEST_KEEP_S3: {
    area: 'Tests, benchmarks and scripts',
    use: 'test',
    default: 'unset',
    meaning: '`1` leaves the S3 server the tests started running',
    readIn: 'test/support/s3.ts',
  },
  FUZZ_SEED: {
    area: 'Tests, benchmarks and scripts',
    use: 'test',
    default: '`20261128`',
    meaning: 'seed of the ingest fuzz test; another value repeats another mix',
    readIn: 'test/integration/ingest-fuzz.test.ts',
  },
  UPDATE_GOLDEN: {
    area: 'Tests, benchmarks and scripts',
    use: 'test',
    default: 'unset',
    meaning: '`1` rewrites the golden DDL files of `migrate --print` (test/golden/)',
    readIn: 'services/migrations/cluster.test.ts',
  },
  UPDATE_JSON_SCHEMAS: {
    area: 'Tests, benchmarks and scripts',
    use: 'test',
    default: 'unset',
    meaning: '`1`: the JSON Schema test rewrites `schemas/json`; `make json-schemas` does it',
    readIn: 'services/events/json-schema.test.ts',
  },
  UPDATE_CONFIG_DOCS: {
    area: 'Tests, benchmarks and scripts',
    use: 'test',
    default: 'unset',
    meaning: '`1`: the configuration test rewrites docs/configuration.md from this spec; `make config-docs` does it',
    readIn: 'services/platform/config-spec.test.ts',
  },
} as const satisfies Record<string, VariableSpec>;

type Spec = typeof CONFIG_SPEC;
export type VariableName = keyof Spec;
/** The variables `read` parses: the rows with a parser. */
type ParsedName = { [K in VariableName]: Spec[K] extends { parse: Parse } ? K : never }[VariableName];
type ParserOf<K extends ParsedName> = Spec[K] extends { parse: infer P } ? P : never;
type ContextOf<K extends ParsedName> = ParserOf<K> extends (env: Env, variable: string, ...context: infer C) => unknown ? C : never;
type ValueOf<K extends ParsedName> = ParserOf<K> extends (...args: never[]) => infer R ? R : never;

/** The value of one variable, parsed by its row (a wrong value throws a ConfigError naming it). */
export function read<K extends ParsedName>(env: Env, name: K, ...context: ContextOf<K>): ValueOf<K> {
  const parse = CONFIG_SPEC[name].parse as (env: Env, variable: string, ...context: unknown[]) => ValueOf<K>;
  return parse(env, name, ...context);
}

const USE_NOTE: Record<VariableUse, string> = { runtime: '', test: 'tests only', benchmark: 'benchmarks only', script: 'scripts only' };

function cell(markdown: string): string {
  return markdown.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** docs/configuration.md: one table per area (variable, default, meaning), in the rows' order. */
export function renderConfigDocs(): string {
  const rows = Object.entries(CONFIG_SPEC) as [VariableName, VariableSpec][];
  const lines = [
    '# Configuration',
    '',
    '<!-- Generated from services/platform/config-spec.ts by `make config-docs`; edit the spec, not this file. -->',
    '',
    'Every environment variable the project reads. The service reads its variables once at start-up;',
    'a wrong value stops the process with one line naming the variable and the accepted form (exit 78).',
    'Variables of the last section are read only by the tests, the benchmarks or the scripts named.',
  ];
  for (const area of AREAS) {
    const inArea = rows.filter(([, row]) => row.area === area);
    if (inArea.length === 0) continue;
    lines.push('', `## ${area}`, '', '| variable | default | meaning |', '| --- | --- | --- |');
    for (const [name, row] of inArea) {
      const where = row.use === 'runtime' ? '' : ` (${USE_NOTE[row.use]}; read in ${row.readIn ?? 'tests'})`;
      lines.push(`| \`${name}\` | ${cell(row.default)} | ${cell(row.meaning + where)} |`);
    }
  }
  return `${lines.join('\n')}\n`;
}
