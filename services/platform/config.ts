import crypto from 'node:crypto';
import fs from 'node:fs';
import { isIP } from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * One typed configuration object, built from the environment once at start-up.
 * A wrong value throws a ConfigError whose message is one line naming the variable,
 * what is wrong with the value and the accepted form.
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
  /** HS256 secret; undefined in dev means "generate once under DATA_DIR". */
  authJwtSecret: string | undefined;
  /** The tenant of the development token printed at start when the secret is generated (DEV_TENANT). */
  devTenant: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
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
  schemaRegistry: { url: URL; username: string | undefined; password: string | undefined } | undefined;
  downloads: {
    ttlHours: number;
    maxConcurrentPerTenant: number;
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

/** A tenant's secrets for the provider webhooks; a provider without one is refused for the tenant (401). */
export interface TenantWebhookSecrets {
  /** The Twilio account's Auth Token: the HMAC-SHA1 key of X-Twilio-Signature. */
  twilioAuthToken?: string;
  /**
   * Twilio SharedKeys (Webhook Settings), key id → secret: a callback whose
   * X-Twilio-Webhooks-Signature-Settings names a key (`key=<id>,algorithm=HMAC_SHA256`) is
   * checked with that key's secret and algorithm. More than one while a key is rotated.
   */
  twilioSharedKeys?: ReadonlyMap<string, string>;
  /** The SendGrid Signed Event Webhook's verification key: base64 DER (SubjectPublicKeyInfo) of an ECDSA P-256 key. */
  sendgridPublicKey?: crypto.KeyObject;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

function fail(variable: string, value: string, problem: string, accepted: string): never {
  throw new ConfigError(`${variable}=${JSON.stringify(value)} ${problem}; expected ${accepted}`);
}

function integer(env: Env, variable: string, fallback: number, min: number, max: number): number {
  const raw = env[variable];
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw.trim())) fail(variable, raw, 'is not a whole number', `an integer from ${min} to ${max}`);
  const value = Number(raw.trim());
  if (value < min || value > max) fail(variable, raw, 'is out of range', `an integer from ${min} to ${max}`);
  return value;
}

function ratio(env: Env, variable: string, fallback: number): number {
  const raw = env[variable];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < 0 || value > 1) {
    fail(variable, raw, 'is not a ratio', 'a number from 0 to 1, e.g. 0.1');
  }
  return value;
}

/** `true` or `false` (also 1/0, yes/no); unset: false. */
function flag(env: Env, variable: string): boolean {
  const raw = env[variable];
  if (raw === undefined) return false;
  const value = raw.trim().toLowerCase();
  if (['true', '1', 'yes'].includes(value)) return true;
  if (['false', '0', 'no', ''].includes(value)) return false;
  fail(variable, raw, 'is not a boolean', 'true or false');
}

function url(env: Env, variable: string, protocols: string[]): URL | undefined {
  const raw = env[variable];
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    fail(variable, redactUrl(raw), 'is not a URL', `an absolute URL such as ${protocols[0]}//host:port`);
  }
  if (!protocols.includes(parsed.protocol)) {
    fail(variable, redactUrl(raw), `has protocol ${parsed.protocol}`, `one of ${protocols.join(', ')}`);
  }
  return parsed;
}

/** Hides a password in a URL-ish string so it never reaches a log or an error. */
export function redactUrl(raw: string): string {
  return raw.replace(/\/\/([^:/@]*):([^@/]*)@/, '//$1:***@');
}

function brokers(env: Env): { list: string[]; local: boolean } {
  const raw = env.KAFKA_BROKERS;
  if (raw === undefined) return { list: [`127.0.0.1:${env.KAFKA_PORT ?? '9092'}`], local: true };
  const list = raw.split(',').map((item) => item.trim());
  const accepted = 'a comma-separated list of host:port, e.g. kafka-1:9092,kafka-2:9092 (unset it to use the local broker)';
  if (raw.trim() === '') fail('KAFKA_BROKERS', raw, 'is empty', accepted);
  for (const item of list) {
    const match = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/.exec(item);
    if (!match || Number(match[2]) < 1 || Number(match[2]) > 65535) {
      fail('KAFKA_BROKERS', raw, `has an invalid entry ${JSON.stringify(item)}`, accepted);
    }
  }
  return { list, local: false };
}

/** TRUST_PROXY: unset or false, true, or a comma list of the proxies' addresses and CIDRs. */
function trustProxy(env: Env): boolean | string[] {
  const raw = env.TRUST_PROXY;
  if (raw === undefined || raw.trim() === 'false') return false;
  const value = raw.trim();
  if (value === 'true') return true;
  const accepted = "false (the default), true, or the proxies' addresses or CIDRs such as 10.0.0.0/8,192.168.1.7";
  // Fastify takes a hop count as "trust nothing" (it cannot check the nearest peer), so it is refused here.
  if (/^\d+$/.test(value)) fail('TRUST_PROXY', raw, 'is a hop count, which cannot tell a proxy from a client', accepted);
  const list = value.split(',').map((item) => item.trim());
  for (const item of list) {
    const [address = '', prefix, extra] = item.split('/');
    const version = isIP(address);
    const max = version === 6 ? 128 : 32;
    if (version === 0 || extra !== undefined || (prefix !== undefined && !(/^\d{1,3}$/.test(prefix) && Number(prefix) <= max))) {
      fail('TRUST_PROXY', raw, `has an invalid entry ${JSON.stringify(item)}`, accepted);
    }
  }
  return list;
}

const HOST_FORM = 'an IP address (IPv6 without brackets, e.g. ::) or a host name such as 0.0.0.0, ::1 or api.internal';

/** HOST: where the API listens (default 127.0.0.1). An IP address or a host name, IPv6 without brackets. */
function host(env: Env): string {
  const raw = env.HOST ?? '127.0.0.1';
  const value = raw.trim();
  const name = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*\.?$/;
  // A zone index (fe80::1%eth0) is an address to listen on; the default PUBLIC_URL refuses it below.
  if (isIP(value.replace(/%[A-Za-z0-9_.-]+$/, '')) === 0 && !name.test(value)) {
    fail('HOST', raw.slice(0, 100), 'is not a host name or IP address', HOST_FORM);
  }
  return value;
}

/**
 * PUBLIC_URL, or the address the API listens on: an IPv6 address in brackets, and for an
 * unspecified address (0.0.0.0, ::), which no client can call, localhost.
 */
function publicUrl(env: Env, listenHost: string): string {
  const given = url(env, 'PUBLIC_URL', ['http:', 'https:']);
  if (given) return given.toString();
  const port = env.PORT?.trim() || '8080';
  const unspecified = listenHost === '0.0.0.0' || (isIP(listenHost) === 6 && /^[0:]+$/.test(listenHost));
  const hostPart = unspecified ? 'localhost' : isIP(listenHost) === 6 ? `[${listenHost}]` : listenHost;
  try {
    return new URL(`http://${hostPart}:${port}/`).toString();
  } catch {
    return fail(
      'HOST',
      listenHost,
      'cannot form the default PUBLIC_URL',
      'PUBLIC_URL set (the address users reach), or a HOST without a zone index',
    );
  }
}

function topicPrefix(env: Env): string {
  const raw = env.TOPIC_PREFIX ?? '';
  if (!/^[A-Za-z0-9._-]{0,100}$/.test(raw)) {
    fail('TOPIC_PREFIX', raw, 'has characters Kafka does not allow in topic names', 'letters, digits, ".", "_" or "-" (at most 100)');
  }
  return raw;
}

/**
 * INGEST_INSTANCE_ID, or the host name and a digest of the data directory: stable for `make run`
 * restarts on one machine, different for two data directories. It becomes part of a Kafka client id.
 */
function instanceId(env: Env, dataDir: string): string {
  const raw = env.INGEST_INSTANCE_ID;
  if (raw === undefined) {
    const host =
      os
        .hostname()
        .replace(/[^A-Za-z0-9._-]/g, '-')
        .slice(0, 60) || 'host';
    return `${host}-${crypto.createHash('sha256').update(dataDir).digest('hex').slice(0, 8)}`;
  }
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(raw)) {
    fail(
      'INGEST_INSTANCE_ID',
      raw,
      'has characters Kafka rejects in a client id',
      'letters, digits, ".", "_" or "-" (1 to 100), e.g. ingest-0',
    );
  }
  return raw;
}

/** CLICKHOUSE_CLUSTER, CLICKHOUSE_SHARDING, CLICKHOUSE_REPLICA_PATH, CLICKHOUSE_REPLICA_NAME (deploy/clickhouse/README.md). */
function clickhouseCluster(
  env: Env,
): Pick<Config, 'clickhouseCluster' | 'clickhouseSharding' | 'clickhouseReplicaPath' | 'clickhouseReplicaName'> {
  const cluster = env.CLICKHOUSE_CLUSTER === undefined || env.CLICKHOUSE_CLUSTER.trim() === '' ? undefined : env.CLICKHOUSE_CLUSTER.trim();
  if (cluster !== undefined && !/^(?:[A-Za-z0-9_.-]{1,200}|\{[A-Za-z0-9_]{1,100}\})$/.test(cluster)) {
    fail(
      'CLICKHOUSE_CLUSTER',
      cluster,
      'does not name a cluster',
      "letters, digits, '_', '.' or '-' (as in system.clusters), or a macro such as {cluster}",
    );
  }
  const sharding = (env.CLICKHOUSE_SHARDING ?? 'none').trim() || 'none';
  if (sharding !== 'none' && sharding !== 'tenant')
    fail('CLICKHOUSE_SHARDING', sharding, 'is not a sharding', 'none (the default) or tenant');
  if (sharding === 'tenant' && cluster === undefined) {
    fail('CLICKHOUSE_SHARDING', sharding, 'needs a cluster to shard over', 'CLICKHOUSE_CLUSTER set as well, or CLICKHOUSE_SHARDING=none');
  }
  const replicaPath = env.CLICKHOUSE_REPLICA_PATH ?? '/clickhouse/tables/{shard}/{database}/{table}';
  if (!/^\/[^'\\\s]+$/.test(replicaPath) || !/\{(table|uuid)\}/.test(replicaPath)) {
    fail(
      'CLICKHOUSE_REPLICA_PATH',
      replicaPath,
      'is not a Keeper path that is unique per table',
      "a path starting with '/', without quotes or spaces, naming {table} or {uuid}, e.g. /clickhouse/tables/{shard}/{database}/{table}",
    );
  }
  if (sharding === 'tenant' && !replicaPath.includes('{shard}')) {
    fail('CLICKHOUSE_REPLICA_PATH', replicaPath, 'has no {shard}, so every shard would replicate the same data', 'a path naming {shard}');
  }
  const replicaName = env.CLICKHOUSE_REPLICA_NAME ?? '{replica}';
  if (!/^[^'\\\s/]+$/.test(replicaName)) {
    fail('CLICKHOUSE_REPLICA_NAME', replicaName, 'is not a replica name', "a name or macro without quotes, spaces or '/', e.g. {replica}");
  }
  return {
    clickhouseCluster: cluster,
    clickhouseSharding: sharding,
    clickhouseReplicaPath: replicaPath,
    clickhouseReplicaName: replicaName,
  };
}

/**
 * SCHEMA_REGISTRY_URL (http or https), with SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD
 * for basic auth. Credentials inside the URL are refused: they would reach logs and errors.
 */
function schemaRegistry(env: Env): Config['schemaRegistry'] {
  const raw = env.SCHEMA_REGISTRY_URL;
  const username = env.SCHEMA_REGISTRY_USERNAME;
  const password = env.SCHEMA_REGISTRY_PASSWORD;
  if (raw === undefined || raw.trim() === '') {
    if (username !== undefined)
      throw new ConfigError('SCHEMA_REGISTRY_USERNAME is set but SCHEMA_REGISTRY_URL is not; expected both, or neither');
    return undefined;
  }
  const parsed = url(env, 'SCHEMA_REGISTRY_URL', ['http:', 'https:'])!;
  if (parsed.username !== '' || parsed.password !== '') {
    fail(
      'SCHEMA_REGISTRY_URL',
      redactUrl(raw),
      'has credentials in it',
      'a URL without them, e.g. http://registry:8081 (set SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD)',
    );
  }
  if ((username === undefined) !== (password === undefined)) {
    // The password itself is never echoed: it is a secret.
    throw new ConfigError(
      `${username === undefined ? 'SCHEMA_REGISTRY_PASSWORD' : 'SCHEMA_REGISTRY_USERNAME'} is set without ${username === undefined ? 'SCHEMA_REGISTRY_USERNAME' : 'SCHEMA_REGISTRY_PASSWORD'}; expected both (basic auth), or neither`,
    );
  }
  return { url: parsed, username, password };
}

/** DOWNLOADS_URL: unset or empty (local files), or s3://bucket/optional/prefix. */
function downloadsUrl(env: Env): URL | undefined {
  const raw = env.DOWNLOADS_URL;
  if (raw === undefined || raw.trim() === '') return undefined;
  const parsed = url(env, 'DOWNLOADS_URL', ['s3:'])!;
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(parsed.hostname) || parsed.username !== '' || parsed.password !== '') {
    fail('DOWNLOADS_URL', redactUrl(raw), 'does not name a bucket', 's3://bucket/prefix (credentials go in AWS_* variables)');
  }
  return parsed;
}

const SECRETS_FORM =
  'a JSON object of tenant → {"twilioAuthToken": "…", "twilioSharedKeys": {"<key id>": "…"}, "sendgridPublicKey": "<base64 DER>"} (any key may be left out)';

/**
 * What a tenant id may be: the ids a bearer token can name (services/api/auth/tokens.ts checks
 * the same rule when it signs and verifies a token). Secrets for any other id could never be used.
 */
export const TENANT_ID_PATTERN = /^[A-Za-z0-9._:-]{1,200}$/;
export const TENANT_ID_RULE = 'letters, digits, ".", "_", ":", "-"; 1-200 characters';

/**
 * WEBHOOK_SECRETS_FILE (a path) or WEBHOOK_SECRETS (the JSON itself): each tenant's provider
 * secrets. Errors name the variable, the tenant and the key, never a value.
 */
function webhookSecrets(env: Env): Map<string, TenantWebhookSecrets> {
  const file = env.WEBHOOK_SECRETS_FILE;
  const inline = env.WEBHOOK_SECRETS;
  if (file !== undefined && inline !== undefined) {
    throw new ConfigError('WEBHOOK_SECRETS_FILE and WEBHOOK_SECRETS are both set; expected one of them');
  }
  const variable = file !== undefined ? 'WEBHOOK_SECRETS_FILE' : 'WEBHOOK_SECRETS';
  let text: string;
  if (file !== undefined) {
    try {
      text = fs.readFileSync(path.resolve(file), 'utf8');
    } catch (error) {
      throw new ConfigError(
        `WEBHOOK_SECRETS_FILE=${JSON.stringify(file)} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}); expected a readable JSON file`,
      );
    }
  } else if (inline !== undefined && inline.trim() !== '') {
    text = inline;
  } else {
    return new Map();
  }
  const refuse = (problem: string): never => {
    throw new ConfigError(`${variable}: ${problem}; expected ${SECRETS_FORM}`);
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    refuse('is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) refuse('is not a JSON object');
  const secrets = new Map<string, TenantWebhookSecrets>();
  for (const [tenant, entry] of Object.entries(parsed as Record<string, unknown>)) {
    const where = `tenant ${JSON.stringify(tenant.slice(0, 100))}`;
    if (!TENANT_ID_PATTERN.test(tenant)) refuse(`${where} is not a tenant id (${TENANT_ID_RULE}, as in a token)`);
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) refuse(`${where} is not an object`);
    const { twilioAuthToken, twilioSharedKeys, sendgridPublicKey, ...rest } = entry as Record<string, unknown>;
    const unknown = Object.keys(rest)[0];
    if (unknown !== undefined) refuse(`${where} has an unknown key ${JSON.stringify(unknown.slice(0, 100))}`);
    const tenantSecrets: TenantWebhookSecrets = {};
    if (twilioAuthToken !== undefined) {
      if (typeof twilioAuthToken !== 'string' || twilioAuthToken.trim() === '')
        refuse(`${where}: twilioAuthToken is not a non-empty string`);
      tenantSecrets.twilioAuthToken = twilioAuthToken as string;
    }
    if (twilioSharedKeys !== undefined) {
      if (typeof twilioSharedKeys !== 'object' || twilioSharedKeys === null || Array.isArray(twilioSharedKeys))
        refuse(`${where}: twilioSharedKeys is not an object of key id → secret`);
      const shared = new Map<string, string>();
      for (const [id, value] of Object.entries(twilioSharedKeys as Record<string, unknown>)) {
        if (id.trim() === '' || typeof value !== 'string' || value.trim() === '')
          refuse(`${where}: twilioSharedKeys[${JSON.stringify(id.slice(0, 100))}] is not a non-empty string`);
        shared.set(id, value as string);
      }
      tenantSecrets.twilioSharedKeys = shared;
    }
    if (sendgridPublicKey !== undefined) {
      if (typeof sendgridPublicKey !== 'string') refuse(`${where}: sendgridPublicKey is not a string`);
      let key: crypto.KeyObject | undefined;
      try {
        key = crypto.createPublicKey({ key: Buffer.from(sendgridPublicKey as string, 'base64'), format: 'der', type: 'spki' });
      } catch {
        key = undefined;
      }
      if (key?.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
        refuse(`${where}: sendgridPublicKey is not a base64 DER (SubjectPublicKeyInfo) ECDSA P-256 public key`);
      }
      tenantSecrets.sendgridPublicKey = key;
    }
    secrets.set(tenant, tenantSecrets);
  }
  return secrets;
}

export function loadConfig(env: Env = process.env): Config {
  const dataDir = path.resolve(env.DATA_DIR ?? './data');
  if (env.DATA_DIR !== undefined && env.DATA_DIR.trim() === '') {
    fail('DATA_DIR', env.DATA_DIR, 'is empty', 'a directory path such as ./data');
  }
  const logLevel = env.LOG_LEVEL ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    fail('LOG_LEVEL', logLevel, 'is not a log level', `one of ${LOG_LEVELS.join(', ')}`);
  }
  const secret = env.AUTH_JWT_SECRET;
  if (secret !== undefined && secret.length < 32) {
    // The value itself is never echoed: it is a secret.
    throw new ConfigError('AUTH_JWT_SECRET is too short; expected at least 32 characters (leave it unset in development)');
  }
  const kafka = brokers(env);
  const listenHost = host(env);
  const rateLimitPerMinute = integer(env, 'API_RATE_LIMIT_PER_MINUTE', 600, 1, 1_000_000);
  const clickhouseUrl = url(env, 'CLICKHOUSE_URL', ['http:', 'https:']);
  // The database: CLICKHOUSE_DATABASE, else the URL's path (http://user:pass@host:8123/metrics), else default.
  const database =
    env.CLICKHOUSE_DATABASE ??
    (clickhouseUrl && clickhouseUrl.pathname.length > 1 ? decodeURIComponent(clickhouseUrl.pathname.slice(1)) : 'default');
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,200}$/.test(database)) {
    fail(
      env.CLICKHOUSE_DATABASE !== undefined ? 'CLICKHOUSE_DATABASE' : 'CLICKHOUSE_URL',
      database,
      'does not name a database',
      'letters, digits and "_", starting with a letter or "_"',
    );
  }
  return {
    port: integer(env, 'PORT', 8080, 0, 65535),
    host: listenHost,
    dataDir,
    kafkaBrokers: kafka.list,
    localKafka: kafka.local,
    clickhouseUrl,
    clickhouseDataPath: path.join(dataDir, 'clickhouse'),
    clickhouseDatabase: database,
    ...clickhouseCluster(env),
    authJwtSecret: secret,
    devTenant: env.DEV_TENANT ?? 'acme',
    logLevel: logLevel as Config['logLevel'],
    topicPartitions: integer(env, 'TOPIC_PARTITIONS', 6, 1, 1000),
    topicPrefix: topicPrefix(env),
    topicReplicationFactor: env.TOPIC_REPLICATION_FACTOR === undefined ? undefined : integer(env, 'TOPIC_REPLICATION_FACTOR', 1, 1, 100),
    ingest: {
      groupId: env.INGEST_GROUP_ID ?? 'sending-metrics-ingest',
      instanceId: instanceId(env, dataDir),
      sessionTimeoutMs: integer(env, 'INGEST_SESSION_TIMEOUT_MS', 30_000, 6_000, 300_000),
      batchMaxRows: integer(env, 'INGEST_BATCH_MAX_ROWS', 20000, 1, 1_000_000),
      batchMaxMs: integer(env, 'INGEST_BATCH_MAX_MS', 500, 1, 600_000),
      maxInvalidRatio: ratio(env, 'INGEST_MAX_INVALID_RATIO', 0.5),
      invalidRatioWindow: integer(env, 'INGEST_INVALID_RATIO_WINDOW', 1000, 10, 10_000_000),
      dedupMaxIds: integer(env, 'INGEST_DEDUP_MAX_IDS', 2_000_000, 0, 100_000_000),
      deadLetterMaxBytes: integer(env, 'INGEST_DEAD_LETTER_MAX_BYTES', 1_000_000, 16_384, 100_000_000),
      lagRefreshMs: integer(env, 'INGEST_LAG_REFRESH_MS', 5000, 100, 600_000),
    },
    api: {
      rateLimitPerMinute,
      // Five users' worth by default: many users of one tenant cannot starve the others.
      rateLimitPerTenantPerMinute: integer(env, 'API_RATE_LIMIT_PER_TENANT_PER_MINUTE', 5 * rateLimitPerMinute, 1, 100_000_000),
      replicas: integer(env, 'API_REPLICAS', 1, 1, 10_000),
      maxRangeDays: integer(env, 'API_MAX_RANGE_DAYS', 400, 1, 10_000),
      trustProxy: trustProxy(env),
      shutdownGraceMs: integer(env, 'SHUTDOWN_GRACE_MS', 10_000, 0, 3_600_000),
      freshnessStaleAfterMs: integer(env, 'FRESHNESS_STALE_AFTER_MS', 30_000, 1, 86_400_000),
      rateMinimumVolume: integer(env, 'RATE_MINIMUM_VOLUME', 100, 1, 1_000_000_000),
      answerCacheEntries: integer(env, 'API_ANSWER_CACHE_ENTRIES', 1000, 0, 1_000_000),
      answerCacheBytes: integer(env, 'API_ANSWER_CACHE_BYTES', 128 * 1024 ** 2, 1024, 64 * 1024 ** 3),
      maxAnswerRows: integer(env, 'API_MAX_ANSWER_ROWS', 10_000, 1, 1_000_000),
      queryTimeoutMs: integer(env, 'API_QUERY_TIMEOUT_MS', 10_000, 1, 3_600_000),
    },
    alerts: {
      groupId: env.ALERTS_GROUP_ID ?? 'sending-metrics-alerts',
      evaluateEveryMs: integer(env, 'ALERTS_EVALUATE_EVERY_MS', 60_000, 100, 3_600_000),
      webhookTimeoutMs: integer(env, 'ALERTS_WEBHOOK_TIMEOUT_MS', 5000, 100, 60_000),
      retryBaseMs: integer(env, 'ALERTS_RETRY_BASE_MS', 30_000, 10, 3_600_000),
      retryForMs: integer(env, 'ALERTS_RETRY_FOR_MS', 86_400_000, 1000, 7 * 86_400_000),
      allowPrivateWebhooks: flag(env, 'ALERTS_ALLOW_PRIVATE_WEBHOOKS'),
      publicUrl: publicUrl(env, listenHost),
    },
    schemaRegistry: schemaRegistry(env),
    downloads: {
      ttlHours: integer(env, 'DOWNLOADS_TTL_HOURS', 168, 1, 100_000),
      maxConcurrentPerTenant: integer(env, 'DOWNLOADS_MAX_CONCURRENT_PER_TENANT', 2, 1, 100),
      maxJobsPerHourPerTenant: integer(env, 'DOWNLOADS_MAX_JOBS_PER_HOUR_PER_TENANT', 30, 1, 100_000),
      maxStoredBytesPerTenant: integer(env, 'DOWNLOADS_MAX_STORED_BYTES_PER_TENANT', 2 * 1024 ** 3, 1, Number.MAX_SAFE_INTEGER),
      url: downloadsUrl(env),
      // Empty means unset (a Helm value or Compose variable left blank): AWS itself.
      s3Endpoint: env.DOWNLOADS_S3_ENDPOINT?.trim() ? url(env, 'DOWNLOADS_S3_ENDPOINT', ['http:', 'https:'])?.toString() : undefined,
      s3Region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
      s3MaxAttempts: integer(env, 'DOWNLOADS_S3_MAX_ATTEMPTS', 3, 1, 20),
      groupId: env.DOWNLOADS_GROUP_ID ?? 'sending-metrics-downloads',
      publishTimeoutMs: integer(env, 'DOWNLOADS_PUBLISH_TIMEOUT_MS', 5000, 100, 600_000),
      leaseMs: integer(env, 'DOWNLOADS_LEASE_MS', 60_000, 3000, 3_600_000),
    },
    events: {
      maxBodyBytes: integer(env, 'EVENTS_MAX_BODY_BYTES', 8 * 1024 ** 2, 1024, 1024 ** 3),
      maxItems: integer(env, 'EVENTS_MAX_ITEMS', 10_000, 1, 1_000_000),
      publishTimeoutMs: integer(env, 'EVENTS_PUBLISH_TIMEOUT_MS', 15_000, 100, 600_000),
      publicUrl: url(env, 'PUBLIC_URL', ['http:', 'https:'])?.toString(),
      webhookSecrets: webhookSecrets(env),
    },
  };
}
