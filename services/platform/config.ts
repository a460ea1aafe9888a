import path from 'node:path';
import type { LogLevel, SchemaRegistryConfig } from './config-parse.js';
import { read } from './config-spec.js';
import type { TenantWebhookSecrets } from './webhook-secrets-config.js';

export { ConfigError, redactUrl } from './config-parse.js';
export { TENANT_ID_PATTERN, TENANT_ID_RULE, type TenantWebhookSecrets } from './webhook-secrets-config.js';

/**
 * One typed configuration object, built from the environment once at start-up.
 * Each variable is declared once in config-spec.ts (parser, default, meaning), which also
 * generates docs/configuration.md. A wrong value throws a ConfigError whose message is one line
 * naming the variable, what is wrong with the value and the accepted form.
 */
export interface Config {
  port: number;
  host: string;
  dataDir: string;
  /** Brokers to use; `localKafka` says they are the project's own single-node broker. */
  kafkaBrokers: string[];
  localKafka: boolean;
  /** Real ClickHouse server when set; otherwise embedded chDB under `clickhouseDataPath`. */
  clickhouseUrl: URL | undefined;
  clickhouseDataPath: string;
  clickhouseDatabase: string;
  /** The cluster of `ON CLUSTER` (CLICKHOUSE_CLUSTER): migrations create Replicated* tables on it; undefined: one server. */
  clickhouseCluster: string | undefined;
  /** CLICKHOUSE_SHARDING: `tenant` adds Distributed tables sharded by tenant (needs the cluster); `none` by default. */
  clickhouseSharding: 'none' | 'tenant';
  /** Keeper path (CLICKHOUSE_REPLICA_PATH) and replica name (CLICKHOUSE_REPLICA_NAME) of the Replicated* tables. */
  clickhouseReplicaPath: string;
  clickhouseReplicaName: string;
  /** Days raw events are kept (RAW_RETENTION_DAYS): a TTL drops older rows; undefined: kept for ever. */
  rawRetentionDays: number | undefined;
  /** HS256 secret; undefined in dev means "generate once under DATA_DIR". */
  authJwtSecret: string | undefined;
  /** The tenant of the development token printed at start when the secret is generated (DEV_TENANT). */
  devTenant: string;
  /** Identity-provider tokens and producers' API keys (docs/security.md). */
  auth: {
    /** The identity provider's key set (AUTH_JWKS_URL); undefined: only HS256 tokens and API keys. */
    jwksUrl: URL | undefined;
    /** The `iss` its tokens carry (AUTH_ISSUER; set whenever jwksUrl is). */
    issuer: string | undefined;
    /** The `aud` its tokens must carry, any of these (AUTH_AUDIENCE); undefined: not checked. */
    audience: string[] | undefined;
    /** The claim naming the tenant (AUTH_TENANT_CLAIM). */
    tenantClaim: string;
    /** How often API keys are read again: the bound on a revocation (API_KEYS_REFRESH_MS). */
    apiKeysRefreshMs: number;
  };
  logLevel: LogLevel;
  topicPartitions: number;
  /** Put in front of every topic name (TOPIC_PREFIX), e.g. "staging.". */
  topicPrefix: string;
  /** Replicas of the topics the service creates (TOPIC_REPLICATION_FACTOR); undefined: the cluster's default. */
  topicReplicationFactor: number | undefined;
  ingest: {
    groupId: string;
    /**
     * This process slot's identity in the group (INGEST_INSTANCE_ID): stable across restarts, so
     * a restarted process can remove its crashed predecessor; unique among live processes.
     */
    instanceId: string;
    sessionTimeoutMs: number;
    batchMaxRows: number;
    batchMaxMs: number;
    maxInvalidRatio: number;
    invalidRatioWindow: number;
    dedupMaxIds: number;
    dedupWindowHours: number;
    dedupIndexMaxIds: number;
    /** Largest dead letter (key, value and headers) sent whole; a larger one is sent truncated. */
    deadLetterMaxBytes: number;
    /** How often the lag gauges are refreshed from the broker's high watermarks and the committed offsets, and the progress recorded for `freshness`. */
    lagRefreshMs: number;
  };
  api: {
    /** Requests per minute of one user (tenant + subject of the token), or of one address without a valid token. */
    rateLimitPerMinute: number;
    /** Requests per minute of all users of one tenant together (API_RATE_LIMIT_PER_TENANT_PER_MINUTE). */
    rateLimitPerTenantPerMinute: number;
    /**
     * API replicas that share the rate limits (API_REPLICAS, default 1; the Helm chart sets it):
     * each replica enforces ceil(limit / replicas) of every budget.
     */
    replicas: number;
    maxRangeDays: number;
    /** Fastify's trustProxy (TRUST_PROXY): false, true (every peer is a proxy) or the proxies' addresses/CIDRs. */
    trustProxy: boolean | string[];
    /** How long closing waits for in-flight requests and streams before it ends them (SHUTDOWN_GRACE_MS). */
    shutdownGraceMs: number;
    /** With no ingest progress recorded for this long, `freshness` says 'no_consumer' (FRESHNESS_STALE_AFTER_MS). */
    freshnessStaleAfterMs: number;
    /** Smallest denominator a rate's health is judged at; below it `insufficient_volume` (RATE_MINIMUM_VOLUME). */
    rateMinimumVolume: number;
    /** Metrics answers kept per tenant data version on the embedded engine (API_ANSWER_CACHE_ENTRIES; 0: none). */
    answerCacheEntries: number;
    /** Bytes of answers that cache keeps (API_ANSWER_CACHE_BYTES, approximate JSON size); an answer over a quarter of it is not kept. */
    answerCacheBytes: number;
    /** Most rows one answer of /v1/metrics/campaigns and /v1/metrics/outreach/campaigns holds, and its default `limit` (API_MAX_ANSWER_ROWS). */
    maxAnswerRows: number;
    /** The reporting queries' execution time limit (API_QUERY_TIMEOUT_MS; ClickHouse max_execution_time); past it: 503 QUERY_TIMEOUT. */
    queryTimeoutMs: number;
  };
  alerts: {
    /** The evaluators' consumer group (ALERTS_GROUP_ID). */
    groupId: string;
    /** How often each owned tenant's rules are evaluated (ALERTS_EVALUATE_EVERY_MS). */
    evaluateEveryMs: number;
    /** A webhook receiver that has not answered by then is cut off (ALERTS_WEBHOOK_TIMEOUT_MS). */
    webhookTimeoutMs: number;
    /** First retry delay; doubled per attempt up to 1 h, with jitter (ALERTS_RETRY_BASE_MS). */
    retryBaseMs: number;
    /** Retries stop this long after the change: the notification is `failed` (ALERTS_RETRY_FOR_MS). */
    retryForMs: number;
    /** Allows http and private, loopback and link-local webhook addresses (ALERTS_ALLOW_PRIVATE_WEBHOOKS; development only). */
    allowPrivateWebhooks: boolean;
    /** The dashboard's address as users reach it, for the links in notifications (PUBLIC_URL). */
    publicUrl: string;
  };
  /**
   * A Confluent-compatible schema registry (SCHEMA_REGISTRY_URL): the ingest reads
   * Confluent-framed Avro through it, and producers write that framing. Undefined: not used.
   */
  schemaRegistry: SchemaRegistryConfig | undefined;
  downloads: {
    ttlHours: number;
    /** Downloads one tenant may queue per rolling hour. */
    maxJobsPerHourPerTenant: number;
    /** Bytes of files one tenant's downloads may hold at once (running and ready). */
    maxStoredBytesPerTenant: number;
    /** Where files go (DOWNLOADS_URL): undefined → DATA_DIR/downloads; s3://bucket/prefix → S3. */
    url: URL | undefined;
    /** An S3-compatible store's endpoint (DOWNLOADS_S3_ENDPOINT), path-style addressing; undefined: AWS. */
    s3Endpoint: string | undefined;
    /** AWS_REGION (us-east-1 when unset). */
    s3Region: string;
    /** Attempts per S3 request (DOWNLOADS_S3_MAX_ATTEMPTS). */
    s3MaxAttempts: number;
    /** The download workers' consumer group (DOWNLOADS_GROUP_ID). */
    groupId: string;
    /** How long POST /v1/downloads waits for Kafka to take a job before 503 (DOWNLOADS_PUBLISH_TIMEOUT_MS). */
    publishTimeoutMs: number;
    /** A running download not renewed for this long is run again by another worker (DOWNLOADS_LEASE_MS). */
    leaseMs: number;
  };
  /** HTTP ingest (POST /v1/events) and the provider webhooks (POST /v1/webhooks/*). */
  events: {
    /** Largest body POST /v1/events accepts, in bytes (EVENTS_MAX_BODY_BYTES); larger: 413. */
    maxBodyBytes: number;
    /** Most events (JSON array elements, NDJSON lines) one POST /v1/events may hold (EVENTS_MAX_ITEMS); more: 413, nothing published. */
    maxItems: number;
    /** How long a request waits for the broker to acknowledge its events before a 503 (EVENTS_PUBLISH_TIMEOUT_MS). */
    publishTimeoutMs: number;
    /**
     * The base URL the providers call (PUBLIC_URL when set): Twilio signs the URL it called,
     * so behind a proxy the signature is checked against this base + the request's path and
     * query. Undefined: the request's own scheme, Host and URL.
     */
    publicUrl: string | undefined;
    /** Each tenant's provider secrets (WEBHOOK_SECRETS_FILE or WEBHOOK_SECRETS); never logged. */
    webhookSecrets: ReadonlyMap<string, TenantWebhookSecrets>;
  };
}

type Env = Record<string, string | undefined>;

/** The configuration, read once through the variables' rows in config-spec.ts, in the order of the fields below. */
export function loadConfig(env: Env = process.env): Config {
  const dataDir = read(env, 'DATA_DIR');
  const logLevel = read(env, 'LOG_LEVEL');
  const secret = read(env, 'AUTH_JWT_SECRET');
  const kafka = read(env, 'KAFKA_BROKERS');
  const listenHost = read(env, 'HOST');
  const rateLimitPerMinute = read(env, 'API_RATE_LIMIT_PER_MINUTE');
  const clickhouseUrl = read(env, 'CLICKHOUSE_URL');
  const database = read(env, 'CLICKHOUSE_DATABASE', clickhouseUrl);
  const port = read(env, 'PORT');
  const cluster = read(env, 'CLICKHOUSE_CLUSTER');
  const devTenant = read(env, 'DEV_TENANT');
  const jwksUrl = read(env, 'AUTH_JWKS_URL');
  const auth = {
    jwksUrl,
    issuer: read(env, 'AUTH_ISSUER', jwksUrl),
    audience: read(env, 'AUTH_AUDIENCE'),
    tenantClaim: read(env, 'AUTH_TENANT_CLAIM'),
    apiKeysRefreshMs: read(env, 'API_KEYS_REFRESH_MS'),
  };
  const topicPartitions = read(env, 'TOPIC_PARTITIONS');
  const topicPrefix = read(env, 'TOPIC_PREFIX');
  const topicReplicationFactor = read(env, 'TOPIC_REPLICATION_FACTOR');
  const ingest = {
    groupId: read(env, 'INGEST_GROUP_ID'),
    instanceId: read(env, 'INGEST_INSTANCE_ID', dataDir),
    sessionTimeoutMs: read(env, 'INGEST_SESSION_TIMEOUT_MS'),
    batchMaxRows: read(env, 'INGEST_BATCH_MAX_ROWS'),
    batchMaxMs: read(env, 'INGEST_BATCH_MAX_MS'),
    maxInvalidRatio: read(env, 'INGEST_MAX_INVALID_RATIO'),
    invalidRatioWindow: read(env, 'INGEST_INVALID_RATIO_WINDOW'),
    dedupMaxIds: read(env, 'INGEST_DEDUP_MAX_IDS'),
    dedupWindowHours: read(env, 'INGEST_DEDUP_WINDOW_HOURS'),
    dedupIndexMaxIds: read(env, 'INGEST_DEDUP_INDEX_MAX_IDS'),
    deadLetterMaxBytes: read(env, 'INGEST_DEAD_LETTER_MAX_BYTES'),
    lagRefreshMs: read(env, 'INGEST_LAG_REFRESH_MS'),
  };
  const api = {
    rateLimitPerMinute,
    rateLimitPerTenantPerMinute: read(env, 'API_RATE_LIMIT_PER_TENANT_PER_MINUTE', rateLimitPerMinute),
    replicas: read(env, 'API_REPLICAS'),
    maxRangeDays: read(env, 'API_MAX_RANGE_DAYS'),
    trustProxy: read(env, 'TRUST_PROXY'),
    shutdownGraceMs: read(env, 'SHUTDOWN_GRACE_MS'),
    freshnessStaleAfterMs: read(env, 'FRESHNESS_STALE_AFTER_MS'),
    rateMinimumVolume: read(env, 'RATE_MINIMUM_VOLUME'),
    answerCacheEntries: read(env, 'API_ANSWER_CACHE_ENTRIES'),
    answerCacheBytes: read(env, 'API_ANSWER_CACHE_BYTES'),
    maxAnswerRows: read(env, 'API_MAX_ANSWER_ROWS'),
    queryTimeoutMs: read(env, 'API_QUERY_TIMEOUT_MS'),
  };
  const alertsGroupId = read(env, 'ALERTS_GROUP_ID');
  const evaluateEveryMs = read(env, 'ALERTS_EVALUATE_EVERY_MS');
  const webhookTimeoutMs = read(env, 'ALERTS_WEBHOOK_TIMEOUT_MS');
  const retryBaseMs = read(env, 'ALERTS_RETRY_BASE_MS');
  const retryForMs = read(env, 'ALERTS_RETRY_FOR_MS');
  const allowPrivateWebhooks = read(env, 'ALERTS_ALLOW_PRIVATE_WEBHOOKS');
  const publicUrl = read(env, 'PUBLIC_URL', listenHost);
  const schemaRegistry = read(env, 'SCHEMA_REGISTRY_URL');
  const downloads = {
    ttlHours: read(env, 'DOWNLOADS_TTL_HOURS'),
    maxJobsPerHourPerTenant: read(env, 'DOWNLOADS_MAX_JOBS_PER_HOUR_PER_TENANT'),
    maxStoredBytesPerTenant: read(env, 'DOWNLOADS_MAX_STORED_BYTES_PER_TENANT'),
    url: read(env, 'DOWNLOADS_URL'),
    s3Endpoint: read(env, 'DOWNLOADS_S3_ENDPOINT'),
    s3Region: read(env, 'AWS_REGION'),
    s3MaxAttempts: read(env, 'DOWNLOADS_S3_MAX_ATTEMPTS'),
    groupId: read(env, 'DOWNLOADS_GROUP_ID'),
    publishTimeoutMs: read(env, 'DOWNLOADS_PUBLISH_TIMEOUT_MS'),
    leaseMs: read(env, 'DOWNLOADS_LEASE_MS'),
  };
  const events = {
    maxBodyBytes: read(env, 'EVENTS_MAX_BODY_BYTES'),
    maxItems: read(env, 'EVENTS_MAX_ITEMS'),
    publishTimeoutMs: read(env, 'EVENTS_PUBLISH_TIMEOUT_MS'),
    publicUrl: publicUrl.given,
    webhookSecrets: read(env, 'WEBHOOK_SECRETS_FILE'),
  };
  return {
    port,
    host: listenHost,
    dataDir,
    kafkaBrokers: kafka.list,
    localKafka: kafka.local,
    clickhouseUrl,
    clickhouseDataPath: path.join(dataDir, 'clickhouse'),
    clickhouseDatabase: database,
    ...cluster,
    rawRetentionDays: read(env, 'RAW_RETENTION_DAYS'),
    authJwtSecret: secret,
    devTenant,
    auth,
    logLevel,
    topicPartitions,
    topicPrefix,
    topicReplicationFactor,
    ingest,
    api,
    alerts: {
      groupId: alertsGroupId,
      evaluateEveryMs,
      webhookTimeoutMs,
      retryBaseMs,
      retryForMs,
      allowPrivateWebhooks,
      publicUrl: publicUrl.effective,
    },
    schemaRegistry,
    downloads,
    events,
  };
}
