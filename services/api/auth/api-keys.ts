import crypto from 'node:crypto';
import type { ClickHouseClient } from '../../platform/clickhouse.js';
import { dateTime64Text } from '../../platform/clickhouse-values.js';
import { DomainError, messageOf } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import type { Scope } from './scopes.js';
import { AuthError, type Principal } from './tokens.js';

/**
 * Producers' API keys: `smk_<keyId>_<secret>`, one tenant each, allowed only to publish events.
 * The table `api_keys` (schemas/clickhouse/014_api_keys.sql) keeps the SHA-256 of the secret, never
 * the secret; the key text is shown once, by `api-key create`.
 */

export const API_KEY_PREFIX = 'smk_';
/** What an API key may do: publish events, nothing else. */
export const API_KEY_SCOPES: readonly Scope[] = ['events:write'];
const API_KEY_PATTERN = /^smk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/** A key as listed: never its secret nor its hash. */
export interface ApiKeyInfo {
  tenantId: string;
  keyId: string;
  name: string;
  createdAt: number;
  /** When it was revoked; null while it is valid. */
  revokedAt: number | null;
}

export const isApiKey = (token: string): boolean => token.startsWith(API_KEY_PREFIX);

/** The id and secret of a key's text, or undefined when it is not one. */
export function parseApiKey(text: string): { keyId: string; secret: string } | undefined {
  const match = API_KEY_PATTERN.exec(text);
  return match ? { keyId: match[1]!, secret: match[2]! } : undefined;
}

const sha256 = (secret: string): Buffer => crypto.createHash('sha256').update(secret, 'utf8').digest();

const iso = (ms: number) => new Date(ms).toISOString();

interface KeyRow {
  tenant_id: string;
  key_id: string;
  secret_hash: string;
  name: string;
  created_ms: string | number;
  revoked_ms: string | number | null;
}

/** The latest row of each key that `where` selects. */
const LATEST = (where: string) => `SELECT tenant_id, key_id, secret_hash, name,
    toUnixTimestamp64Milli(created_at) AS created_ms, toUnixTimestamp64Milli(revoked_at) AS revoked_ms
  FROM api_keys WHERE ${where}
  ORDER BY key_id, updated_at DESC LIMIT 1 BY key_id`;

async function latestRows(client: ClickHouseClient, where: string, params: Record<string, unknown> = {}): Promise<KeyRow[]> {
  const result = await client.query({ query: LATEST(where), query_params: params, format: 'JSONEachRow' });
  return result.json<KeyRow>();
}

const infoOf = (row: KeyRow): ApiKeyInfo => ({
  tenantId: row.tenant_id,
  keyId: row.key_id,
  name: row.name,
  createdAt: Number(row.created_ms),
  revokedAt: row.revoked_ms === null ? null : Number(row.revoked_ms),
});

/** Creates a key of a tenant; answers its text (shown once: only its hash is kept) and what `list` shows of it. */
export async function createApiKey(
  client: ClickHouseClient,
  tenantId: string,
  name: string,
  nowMs = Date.now(),
): Promise<{ key: string; info: ApiKeyInfo }> {
  const keyId = crypto.randomBytes(8).toString('hex');
  const secret = crypto.randomBytes(32).toString('base64url');
  const info: ApiKeyInfo = { tenantId, keyId, name, createdAt: nowMs, revokedAt: null };
  await client.insert({
    table: 'api_keys',
    values: [
      {
        tenant_id: tenantId,
        key_id: keyId,
        secret_hash: sha256(secret).toString('hex'),
        name,
        created_at: dateTime64Text(nowMs),
        revoked_at: null,
        updated_at: dateTime64Text(nowMs),
      },
    ],
    format: 'JSONEachRow',
  });
  return { key: `${API_KEY_PREFIX}${keyId}_${secret}`, info };
}

/** Revokes a key (every API replica refuses it within API_KEYS_REFRESH_MS); undefined when there is no such key. */
export async function revokeApiKey(client: ClickHouseClient, keyId: string, nowMs = Date.now()): Promise<ApiKeyInfo | undefined> {
  const [row] = await latestRows(client, 'key_id = {keyId:String}', { keyId });
  if (!row) return undefined;
  if (row.revoked_ms !== null) return infoOf(row);
  // Strictly later than the row it replaces, also within one millisecond.
  const at = Math.max(nowMs, Number(row.created_ms) + 1);
  await client.insert({
    table: 'api_keys',
    values: [
      {
        tenant_id: row.tenant_id,
        key_id: row.key_id,
        secret_hash: row.secret_hash,
        name: row.name,
        created_at: dateTime64Text(Number(row.created_ms)),
        revoked_at: dateTime64Text(at),
        updated_at: dateTime64Text(at),
      },
    ],
    format: 'JSONEachRow',
  });
  return { ...infoOf(row), revokedAt: at };
}

/** A tenant's keys, oldest first (revoked ones too), without their secrets. */
export async function listApiKeys(client: ClickHouseClient, tenantId: string): Promise<ApiKeyInfo[]> {
  const rows = await latestRows(client, 'tenant_id = {tenantId:String}', { tenantId });
  return rows.map(infoOf).sort((a, b) => a.createdAt - b.createdAt || a.keyId.localeCompare(b.keyId));
}

/** One line of `api-key list`. */
export function describeApiKey(info: ApiKeyInfo): string {
  const state = info.revokedAt === null ? 'active' : `revoked ${iso(info.revokedAt)}`;
  return `${info.keyId}  ${JSON.stringify(info.name)}  created ${iso(info.createdAt)}  ${state}`;
}

/** The keys could not be read: not the caller's fault, so 503 rather than 401. */
export class ApiKeysUnavailableError extends DomainError {
  override name = 'ApiKeysUnavailableError';
  constructor(cause: unknown) {
    super('unavailable', 'API_KEYS_UNAVAILABLE', 'the API keys could not be read; retry shortly', { retryAfterSeconds: 5 }, { cause });
  }
}

interface KnownKey {
  tenantId: string;
  hash: Buffer;
  revoked: boolean;
}

export interface ApiKeyStoreOptions {
  /** How often every key is read again (API_KEYS_REFRESH_MS): the bound on a revocation reaching this replica. */
  refreshMs: number;
  /** The least time between two lookups of unknown key ids (default 1 s). */
  lookupEveryMs?: number;
  logger?: Logger;
}

/** Unknown key ids waiting for the next lookup at most; more are refused until it is done. */
const MAX_PENDING = 1_000;

/**
 * The keys in this replica's memory. Nothing is read until the first API key is presented; from
 * then every key is read again every `refreshMs`, so a revocation takes effect here within that
 * time. A key id not in memory (one created since) is looked up: at most one lookup per
 * `lookupEveryMs` for all unknown ids together, and an id found absent is not looked up again
 * until the next refresh. Secrets are compared by their hashes in constant time.
 */
export class ApiKeyStore {
  private keys = new Map<string, KnownKey>();
  private absent = new Set<string>();
  private loading: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private pending = new Map<string, { resolve: () => void; reject: (error: unknown) => void }[]>();
  private lookupTimer: NodeJS.Timeout | undefined;
  private lastLookupMs = -Infinity;
  private closed = false;

  constructor(
    private readonly client: ClickHouseClient,
    private readonly options: ApiKeyStoreOptions,
  ) {}

  /** The principal of an API key's text; an AuthError when it is not a valid, unrevoked key. */
  async verify(text: string): Promise<Principal> {
    const parsed = parseApiKey(text);
    if (!parsed) throw new AuthError('the token is not a valid API key (smk_<id>_<secret>)');
    await this.start();
    let key = this.keys.get(parsed.keyId);
    if (!key && !this.absent.has(parsed.keyId)) {
      await this.lookup(parsed.keyId);
      key = this.keys.get(parsed.keyId);
    }
    // The same refusal for an unknown id and a wrong secret: neither tells which key ids exist.
    if (!key || !crypto.timingSafeEqual(key.hash, sha256(parsed.secret))) throw new AuthError('the API key is not valid');
    if (key.revoked) throw new AuthError('the API key has been revoked');
    return { tenantId: key.tenantId, userId: `api-key:${parsed.keyId}`, scopes: API_KEY_SCOPES };
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    clearTimeout(this.lookupTimer);
    for (const waiters of this.pending.values()) for (const waiter of waiters) waiter.resolve();
    this.pending.clear();
  }

  /** The first read of every key, then a refresh every refreshMs. */
  private start(): Promise<void> {
    this.loading ??= this.refresh().then(
      () => {
        if (this.closed) return;
        this.timer = setInterval(() => {
          this.refresh().catch((error: unknown) =>
            this.options.logger?.warn({ error: messageOf(error) }, 'API keys not refreshed; the ones in memory stay in use'),
          );
        }, this.options.refreshMs);
        this.timer.unref();
      },
      (error: unknown) => {
        this.loading = undefined;
        throw new ApiKeysUnavailableError(error);
      },
    );
    return this.loading;
  }

  private async refresh(): Promise<void> {
    const rows = await latestRows(this.client, '1');
    const keys = new Map<string, KnownKey>();
    for (const row of rows) keys.set(row.key_id, this.known(row));
    this.keys = keys;
    this.absent.clear();
  }

  private known(row: KeyRow): KnownKey {
    return { tenantId: row.tenant_id, hash: Buffer.from(row.secret_hash, 'hex'), revoked: row.revoked_ms !== null };
  }

  /** Waits for the next lookup of unknown ids (at most one per lookupEveryMs), which includes this one. */
  private lookup(keyId: string): Promise<void> {
    const waiters = this.pending.get(keyId);
    if (!waiters && this.pending.size >= MAX_PENDING) return Promise.resolve();
    return new Promise((resolve, reject) => {
      if (waiters) waiters.push({ resolve, reject });
      else this.pending.set(keyId, [{ resolve, reject }]);
      if (this.lookupTimer === undefined) {
        const wait = Math.max(0, this.lastLookupMs + (this.options.lookupEveryMs ?? 1_000) - Date.now());
        this.lookupTimer = setTimeout(() => void this.lookUpPending(), wait);
      }
    });
  }

  private async lookUpPending(): Promise<void> {
    const batch = this.pending;
    this.pending = new Map();
    this.lastLookupMs = Date.now();
    const ids = [...batch.keys()];
    try {
      const rows = await latestRows(this.client, 'key_id IN {ids:Array(String)}', { ids });
      for (const row of rows) this.keys.set(row.key_id, this.known(row));
      for (const id of ids) if (!this.keys.has(id)) this.absent.add(id);
      for (const waiters of batch.values()) for (const waiter of waiters) waiter.resolve();
    } catch (error) {
      const unavailable = new ApiKeysUnavailableError(error);
      for (const waiters of batch.values()) for (const waiter of waiters) waiter.reject(unavailable);
    } finally {
      this.lookupTimer = undefined;
      // Ids that arrived during this lookup wait for the next one.
      if (this.pending.size > 0 && !this.closed) {
        this.lookupTimer = setTimeout(() => void this.lookUpPending(), this.options.lookupEveryMs ?? 1_000);
      }
    }
  }
}
