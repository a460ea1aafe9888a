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
 * cache is used. Rows that a table TTL removes are not a write: an answer may outlive them by at
 * most `maxAgeMs`.
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
}

export interface AnswerCacheOptions {
  versions: TenantDataVersions;
  /** Answers kept at most (least recently used dropped first). */
  maxEntries: number;
  /** Longest an answer is kept even without a write (default 60 s). */
  maxAgeMs?: number;
}

export interface AnswerCacheStats {
  hits: number;
  misses: number;
}

export class AnswerCache {
  private readonly entries: LRUCache<string, Entry>;
  readonly stats: AnswerCacheStats = { hits: 0, misses: 0 };

  constructor(private readonly options: AnswerCacheOptions) {
    this.entries = new LRUCache<string, Entry>({ max: options.maxEntries, ttl: options.maxAgeMs ?? 60_000 });
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
    this.entries.set(key, { version, answer });
    // A failed computation is not kept: the next request tries again.
    answer.catch(() => {
      if (this.entries.peek(key)?.answer === answer) this.entries.delete(key);
    });
    return answer;
  }
}

/** Calls `compute` through `cache` when there is one. */
export function cachedAnswer<T>(cache: AnswerCache | undefined, tenantId: string, request: unknown, compute: () => Promise<T>): Promise<T> {
  return cache ? cache.get(tenantId, request, compute) : compute();
}
