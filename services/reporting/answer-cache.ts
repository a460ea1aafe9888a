import { LRUCache } from 'lru-cache';

/**
 * Answers of the metrics queries kept per tenant and request, valid for one version of the
 * tenant's data. On the embedded engine every query waits for the one before it, so many
 * dashboards asking the same question at once queue behind each other; a cached answer costs
 * nothing. It is never stale:
 *
 * - Every write of events bumps the version of each tenant it wrote (`TenantDataVersions.bump`,
 *   called by the ingest after the insert returned, so after the rows are visible).
 * - A request reads the version *before* its queries start and stores its answer under that
 *   version. An answer that raced a write is therefore stored under the older version, which the
 *   bump has already (or will have) replaced: the next request computes afresh.
 * - Identical requests in flight at the same version share one computation.
 *
 * Only for the embedded engine, where every write goes through this process. With a ClickHouse
 * server (CLICKHOUSE_URL) other processes write and the server runs queries in parallel, so no
 * cache is used. Rows that a table TTL removes are not a write: with RAW_RETENTION_DAYS the
 * metrics routes file an answer under the range it counts (raw-retention.ts), which changes once
 * the raw cut-off passes one of its edges, so no answer is served across the cut-off moving; an
 * answer read wholly from raw rows after the cut-off keeps them (the cut-off's margin of an hour
 * exceeds `maxAgeMs`).
 */
export class TenantDataVersions {
  private readonly versions = new Map<string, number>();

  of(tenantId: string): number {
    return this.versions.get(tenantId) ?? 0;
  }

  bump(tenantIds: Iterable<string>): void {
    for (const tenantId of tenantIds) this.versions.set(tenantId, this.of(tenantId) + 1);
  }
}

interface Entry {
  version: number;
  answer: Promise<unknown>;
  /** Approximate JSON size of the answer; 1 while it is computed. */
  bytes: number;
}

/** The default of AnswerCacheOptions.maxBytes (API_ANSWER_CACHE_BYTES). */
export const DEFAULT_ANSWER_CACHE_BYTES = 128 * 1024 * 1024;

/**
 * About the length of `JSON.stringify(value)` (in UTF-16 units), counted without building the
 * text: strings, numbers and the punctuation of arrays and objects.
 */
export function approximateJsonBytes(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return value.length + 2;
    case 'number':
      return Number.isInteger(value) && Math.abs(value) < 1e6 ? String(value).length : 18;
    case 'boolean':
      return value ? 4 : 5;
    case 'object': {
      if (value === null) return 4;
      if (Array.isArray(value)) {
        let bytes = 2 + Math.max(0, value.length - 1);
        for (const item of value) bytes += item === undefined ? 4 : approximateJsonBytes(item);
        return bytes;
      }
      let bytes = 2;
      let first = true;
      for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
        if (item === undefined || typeof item === 'function') continue;
        bytes += (first ? 0 : 1) + key.length + 3 + approximateJsonBytes(item);
        first = false;
      }
      return bytes;
    }
    default:
      return 0;
  }
}

export interface AnswerCacheOptions {
  versions: TenantDataVersions;
  /** Answers kept at most (least recently used dropped first). */
  maxEntries: number;
  /** Longest an answer is kept even without a write (default 60 s). */
  maxAgeMs?: number;
  /**
   * Bytes of answers kept at most, by their approximate JSON size (API_ANSWER_CACHE_BYTES,
   * default 128 MiB); an answer larger than a quarter of it is not kept (computed per request).
   */
  maxBytes?: number;
}

export interface AnswerCacheStats {
  hits: number;
  misses: number;
}

export class AnswerCache {
  private readonly entries: LRUCache<string, Entry>;
  readonly stats: AnswerCacheStats = { hits: 0, misses: 0 };

  private readonly maxEntryBytes: number;

  constructor(private readonly options: AnswerCacheOptions) {
    const maxBytes = options.maxBytes ?? DEFAULT_ANSWER_CACHE_BYTES;
    this.maxEntryBytes = Math.floor(maxBytes / 4);
    this.entries = new LRUCache<string, Entry>({
      max: options.maxEntries,
      ttl: options.maxAgeMs ?? 60_000,
      maxSize: maxBytes,
      sizeCalculation: (entry) => entry.bytes,
    });
  }

  /** Approximate bytes of the answers kept now. */
  get bytes(): number {
    return this.entries.calculatedSize;
  }

  /**
   * The answer of `compute` for `tenantId` and `request` (any JSON-able description of the
   * question: endpoint, range, filters, options), computed at most once per data version.
   */
  async get<T>(tenantId: string, request: unknown, compute: () => Promise<T>): Promise<T> {
    const key = `${tenantId}\u0000${JSON.stringify(request)}`;
    const version = this.options.versions.of(tenantId);
    const entry = this.entries.get(key);
    if (entry && entry.version === version) {
      this.stats.hits += 1;
      return entry.answer as Promise<T>;
    }
    this.stats.misses += 1;
    const answer = compute();
    this.entries.set(key, { version, answer, bytes: 1 });
    answer.then(
      (value) => {
        // Filed again with its size (the identical requests that joined it keep their promise).
        const entry = this.entries.peek(key);
        if (entry?.answer !== answer) return;
        const bytes = approximateJsonBytes(value);
        if (bytes > this.maxEntryBytes) this.entries.delete(key);
        else this.entries.set(key, { ...entry, bytes: Math.max(1, bytes) }, { noUpdateTTL: true });
      },
      () => {
        // A failed computation is not kept: the next request tries again.
        if (this.entries.peek(key)?.answer === answer) this.entries.delete(key);
      },
    );
    return answer;
  }
}

/** Calls `compute` through `cache` when there is one. */
export function cachedAnswer<T>(cache: AnswerCache | undefined, tenantId: string, request: unknown, compute: () => Promise<T>): Promise<T> {
  return cache ? cache.get(tenantId, request, compute) : compute();
}
