import crypto from 'node:crypto';
import { isIP } from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * The parsers of the environment variables (config-spec.ts says which variable each one reads).
 * A wrong value throws a ConfigError whose message is one line naming the variable, what is
 * wrong with the value and the accepted form.
 *
 * Over 300 lines on purpose: every kind of value a variable takes (numbers with bounds, durations,
 * URLs, lists, secrets), each a few lines, in one place a reader looks for the accepted forms.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export type Env = Record<string, string | undefined>;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function fail(variable: string, value: string, problem: string, accepted: string): never {
  throw new ConfigError(`${variable}=${JSON.stringify(value)} ${problem}; expected ${accepted}`);
}

export function integer(env: Env, variable: string, fallback: number, min: number, max: number): number {
  const raw = env[variable];
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw.trim())) fail(variable, raw, 'is not a whole number', `an integer from ${min} to ${max}`);
  const value = Number(raw.trim());
  if (value < min || value > max) fail(variable, raw, 'is out of range', `an integer from ${min} to ${max}`);
  return value;
}

export function ratio(env: Env, variable: string, fallback: number): number {
  const raw = env[variable];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < 0 || value > 1) {
    fail(variable, raw, 'is not a ratio', 'a number from 0 to 1, e.g. 0.1');
  }
  return value;
}

/** `true` or `false` (also 1/0, yes/no); unset: false. */
export function flag(env: Env, variable: string): boolean {
  const raw = env[variable];
  if (raw === undefined) return false;
  const value = raw.trim().toLowerCase();
  if (['true', '1', 'yes'].includes(value)) return true;
  if (['false', '0', 'no', ''].includes(value)) return false;
  fail(variable, raw, 'is not a boolean', 'true or false');
}

export function url(env: Env, variable: string, protocols: string[]): URL | undefined {
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

export function brokers(env: Env): { list: string[]; local: boolean } {
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
export function trustProxy(env: Env): boolean | string[] {
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
export function host(env: Env): string {
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
export function publicUrl(env: Env, listenHost: string): string {
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

export function topicPrefix(env: Env): string {
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
export function instanceId(env: Env, dataDir: string): string {
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

export interface ClickhouseClusterConfig {
  clickhouseCluster: string | undefined;
  clickhouseSharding: 'none' | 'tenant';
  clickhouseReplicaPath: string;
  clickhouseReplicaName: string;
}

/** CLICKHOUSE_CLUSTER, CLICKHOUSE_SHARDING, CLICKHOUSE_REPLICA_PATH, CLICKHOUSE_REPLICA_NAME (deploy/clickhouse/README.md). */
export function clickhouseCluster(env: Env): ClickhouseClusterConfig {
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

export interface SchemaRegistryConfig {
  url: URL;
  username: string | undefined;
  password: string | undefined;
}

/**
 * SCHEMA_REGISTRY_URL (http or https), with SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD
 * for basic auth. Credentials inside the URL are refused: they would reach logs and errors.
 */
export function schemaRegistry(env: Env): SchemaRegistryConfig | undefined {
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
export function downloadsUrl(env: Env): URL | undefined {
  const raw = env.DOWNLOADS_URL;
  if (raw === undefined || raw.trim() === '') return undefined;
  const parsed = url(env, 'DOWNLOADS_URL', ['s3:'])!;
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(parsed.hostname) || parsed.username !== '' || parsed.password !== '') {
    fail('DOWNLOADS_URL', redactUrl(raw), 'does not name a bucket', 's3://bucket/prefix (credentials go in AWS_* variables)');
  }
  return parsed;
}

/** DATA_DIR, resolved (default ./data); an empty value is refused. */
export function dataDir(env: Env, variable: string): string {
  const raw = env[variable];
  if (raw !== undefined && raw.trim() === '') fail(variable, raw, 'is empty', 'a directory path such as ./data');
  return path.resolve(raw ?? './data');
}

/** LOG_LEVEL: one of pino's levels (default info). */
export function logLevel(env: Env, variable: string): LogLevel {
  const value = env[variable] ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(value)) {
    fail(variable, value, 'is not a log level', `one of ${LOG_LEVELS.join(', ')}`);
  }
  return value as LogLevel;
}

/** AUTH_JWT_SECRET: unset, or at least 32 characters; the value itself is never echoed. */
export function jwtSecret(env: Env, variable: string): string | undefined {
  const secret = env[variable];
  if (secret !== undefined && secret.length < 32) {
    throw new ConfigError(`${variable} is too short; expected at least 32 characters (leave it unset in development)`);
  }
  return secret;
}

/** A string taken as it is, or the default when unset. */
export function text(env: Env, variable: string, fallback: string): string {
  return env[variable] ?? fallback;
}

/** CLICKHOUSE_DATABASE, else the path of CLICKHOUSE_URL (http://user:pass@host:8123/metrics), else default. */
export function clickhouseDatabase(env: Env, variable: string, clickhouseUrl: URL | undefined): string {
  const database =
    env[variable] ?? (clickhouseUrl && clickhouseUrl.pathname.length > 1 ? decodeURIComponent(clickhouseUrl.pathname.slice(1)) : 'default');
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,200}$/.test(database)) {
    fail(
      env[variable] !== undefined ? variable : 'CLICKHOUSE_URL',
      database,
      'does not name a database',
      'letters, digits and "_", starting with a letter or "_"',
    );
  }
  return database;
}
