import { LRUCache } from 'lru-cache';
import type { ClickHouseClient } from '../platform/clickhouse.js';
import type { TenantDataVersions } from './answer-cache.js';

/**
 * The display names of a tenant's playbooks and campaigns, kept in this process per tenant data
 * version, so that the campaign answers join them in JavaScript instead of reading
 * `campaign_names` in every query (a table read costs the embedded engine a few milliseconds
 * whatever its size). Never stale, by the rules of the answer cache (answer-cache.ts):
 *
 * - The names are the latest by event time over all time (argMax over `campaign_names`, as the
 *   SQL join reads them), read at most once per version of the tenant's data; every write of
 *   events bumps the version after its rows are visible. The version is read before the names
 *   are, so names that raced a write are filed under the version that write replaced.
 * - They are looked up after the counts were read: kept names serve only while the tenant's
 *   version is the one they were read at and they name every counted campaign; otherwise they
 *   are read then, so at least as new as the counts. A request that starts after a write
 *   returned therefore sees that write's names. (One running while a write is in progress, its
 *   rows in but the version not bumped yet, may pair the new counts with the names from before
 *   it, as the answer cache may serve it the answer from before it.)
 *
 * Only for the embedded engine, where every write goes through this process (as the answer cache).
 */

export interface CampaignName {
  playbookName: string;
  campaignName: string;
}

/** Names by {@link campaignKey}; a campaign no assignment ever named is absent. */
export type CampaignNameMap = ReadonlyMap<string, CampaignName>;

export const campaignKey = (playbookId: string, campaignId: string) => `${playbookId}\u0000${campaignId}`;

/** Every name of a tenant, the latest by event time (argMax, never relying on a merge). */
export const TENANT_NAMES_QUERY = `SELECT playbook_id, campaign_id,
  argMax(playbook_name, named_at) AS playbook_name, argMax(campaign_name, named_at) AS campaign_name
FROM campaign_names
WHERE tenant_id = {tenantId:String}
GROUP BY playbook_id, campaign_id`;

export async function readCampaignNames(client: ClickHouseClient, tenantId: string): Promise<CampaignNameMap> {
  const result = await client.query({ query: TENANT_NAMES_QUERY, query_params: { tenantId }, format: 'JSONCompactEachRow' });
  const rows = await result.json<[string, string, string, string]>();
  return new Map(
    rows.map(([playbookId, campaignId, playbookName, campaignName]) => [
      campaignKey(playbookId, campaignId),
      { playbookName, campaignName },
    ]),
  );
}

interface Entry {
  version: number;
  names: Promise<CampaignNameMap>;
  /** Keys counted at this version that a read made after the counts found unnamed (messages without a campaign, say). */
  unnamed: Set<string>;
}

export interface CampaignNamesStats {
  hits: number;
  /** Names read because the tenant's version had changed (or the tenant was not kept). */
  loads: number;
  /** Names read again at the same version because a counted campaign had no name in them. */
  rereads: number;
}

export class CampaignNames {
  private readonly tenants: LRUCache<string, Entry>;
  readonly stats: CampaignNamesStats = { hits: 0, loads: 0, rereads: 0 };

  constructor(
    private readonly versions: TenantDataVersions,
    /** Tenants kept at most (least recently used dropped first). */
    maxTenants = 1000,
  ) {
    this.tenants = new LRUCache({ max: maxTenants });
  }

  /**
   * The names to put beside counts already read (`keys`: the counted campaigns): those kept for
   * the tenant's current data version when they name every key (or a read after such counts
   * found the key unnamed); otherwise read now, after the counts, so at least as new as them.
   * Concurrent callers at one version share one read.
   */
  async of(client: ClickHouseClient, tenantId: string, keys: Iterable<string>): Promise<CampaignNameMap> {
    const entry = this.tenants.get(tenantId);
    if (entry && entry.version === this.versions.of(tenantId)) {
      const names = await entry.names;
      const missing = [...keys].filter((key) => !names.has(key) && !entry.unnamed.has(key));
      if (missing.length === 0) {
        this.stats.hits += 1;
        return names;
      }
      this.stats.rereads += 1;
      return this.read(client, tenantId, missing);
    }
    this.stats.loads += 1;
    return this.read(client, tenantId, keys);
  }

  /** Reads the names, filed under the version read before the read starts; `keys` they lack are noted as unnamed. */
  private async read(client: ClickHouseClient, tenantId: string, keys: Iterable<string>): Promise<CampaignNameMap> {
    const entry: Entry = { version: this.versions.of(tenantId), names: readCampaignNames(client, tenantId), unnamed: new Set() };
    this.tenants.set(tenantId, entry);
    // A failed read is not kept: the next caller tries again.
    entry.names.catch(() => {
      if (this.tenants.peek(tenantId) === entry) this.tenants.delete(tenantId);
    });
    const names = await entry.names;
    for (const key of keys) if (!names.has(key)) entry.unnamed.add(key);
    return names;
  }
}

/**
 * Byte order of the UTF-8 texts, as the engine's ORDER BY on strings: code point order, compared
 * on the UTF-16 units without encoding (a sort of 126k rows spent seconds encoding). UTF-16 order
 * differs from code point order only where a surrogate (U+D800-DFFF, a code point past U+FFFF)
 * meets a unit of U+E000-FFFF: surrogates are moved above those.
 */
export function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i += 1) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      x = x < 0xe000 ? x + 0x2000 : x - 0x800;
      y = y < 0xe000 ? y + 0x2000 : y - 0x800;
    }
    return x < y ? -1 : 1;
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}
