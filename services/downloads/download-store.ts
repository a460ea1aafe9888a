import { createHash } from 'node:crypto';
import type { ClickHouseClient } from '../platform/clickhouse.js';
import { dateTime64Text } from '../platform/clickhouse-values.js';
import type { ExportFilters, ExportKind } from '../reporting/index.js';

/**
 * The `downloads` table (ReplacingMergeTree(version)): every state change of a job is a new
 * row with a higher version. Reads take the latest version of each job (`LIMIT 1 BY` over
 * version, descending) before filtering on anything that changes between versions, never
 * relying on a merge having happened.
 */

export const DOWNLOAD_STATUSES = ['queued', 'running', 'ready', 'failed', 'expired'] as const;
export type DownloadStatus = (typeof DOWNLOAD_STATUSES)[number];

export interface DownloadJob {
  id: string;
  tenantId: string;
  userId: string;
  export: ExportKind;
  /** Epoch milliseconds, inclusive. */
  fromMs: number;
  toMs: number;
  filters: ExportFilters;
  status: DownloadStatus;
  rows: number;
  bytes: number;
  /** Why it failed (or a note on a job run again after a restart); '' when none. */
  error: string;
  /** The file under DATA_DIR while it is ready; '' otherwise. */
  file: string;
  /**
   * Which run of the job this version belongs to: 0 until a worker claims it, then 1, 2, … (each
   * claim adds one), and the worker that claimed it. Kept in the params JSON. A write from a run
   * that is no longer the current one is refused (see DownloadService).
   */
  attempt?: number;
  owner?: string;
  createdAt: number;
  updatedAt: number;
  version: number;
}

interface StoredRow {
  id: string;
  tenant_id: string;
  user_id: string;
  export: string;
  params: string;
  status: string;
  rows: string | number;
  bytes: string | number;
  error: string;
  file: string;
  created_ms: string | number;
  updated_ms: string | number;
  version: string | number;
}

function fromRow(row: StoredRow): DownloadJob {
  const params = JSON.parse(row.params) as { from: string; to: string; filters?: ExportFilters; attempt?: number; owner?: string };
  return {
    id: row.id,
    tenantId: row.tenant_id,
    userId: row.user_id,
    export: row.export as ExportKind,
    fromMs: Date.parse(params.from),
    toMs: Date.parse(params.to),
    filters: params.filters ?? {},
    status: row.status as DownloadStatus,
    rows: Number(row.rows),
    bytes: Number(row.bytes),
    error: row.error,
    file: row.file,
    attempt: params.attempt ?? 0,
    owner: params.owner ?? '',
    createdAt: Number(row.created_ms),
    updatedAt: Number(row.updated_ms),
    version: Number(row.version),
  };
}

const COLUMNS = `id, tenant_id, user_id, export, params, status, rows, bytes, error, file,
  toUnixTimestamp64Milli(created_at) AS created_ms, toUnixTimestamp64Milli(updated_at) AS updated_ms, version`;

/** The latest version of every job matching `where` (which may only use columns that never change: tenant_id, id). */
function latest(where: string): string {
  return `(SELECT ${COLUMNS} FROM downloads WHERE ${where} ORDER BY version DESC LIMIT 1 BY tenant_id, id)`;
}

export interface DownloadUsage {
  recentJobs: number;
  oldestRecentMs: number | undefined;
  storedBytes: number;
  oldestReadyMs: number | undefined;
}

/** What identifies "the same download" of a tenant: export, range and filters (in any order). */
export function requestKey(kind: ExportKind, fromMs: number, toMs: number, filters: ExportFilters): string {
  return createHash('sha256')
    .update(JSON.stringify([kind, fromMs, toMs, canonicalFilters(filters)]))
    .digest('hex')
    .slice(0, 32);
}

function canonicalFilters(filters: ExportFilters): string {
  return JSON.stringify(
    Object.entries(filters as Record<string, string | undefined>)
      .filter(([, value]) => value !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1)),
  );
}

export class DownloadStore {
  constructor(private readonly client: ClickHouseClient) {}

  /** Writes `job` as its newest version. */
  async save(job: DownloadJob): Promise<void> {
    await this.client.insert({
      table: 'downloads',
      format: 'JSONEachRow',
      values: [
        {
          id: job.id,
          tenant_id: job.tenantId,
          user_id: job.userId,
          export: job.export,
          params: JSON.stringify({
            from: new Date(job.fromMs).toISOString(),
            to: new Date(job.toMs).toISOString(),
            filters: job.filters,
            attempt: job.attempt ?? 0,
            owner: job.owner ?? '',
          }),
          status: job.status,
          rows: job.rows,
          bytes: job.bytes,
          error: job.error,
          file: job.file,
          created_at: dateTime64Text(job.createdAt),
          updated_at: dateTime64Text(job.updatedAt),
          version: job.version,
        },
      ],
    });
  }

  async get(tenantId: string, id: string): Promise<DownloadJob | undefined> {
    const result = await this.client.query({
      query: `SELECT * FROM ${latest('tenant_id = {tenantId:String} AND id = {id:String}')}`,
      query_params: { tenantId, id },
      format: 'JSONEachRow',
    });
    const rows = await result.json<StoredRow>();
    return rows[0] ? fromRow(rows[0]) : undefined;
  }

  /** The tenant's jobs, newest first. */
  async list(tenantId: string, limit: number): Promise<DownloadJob[]> {
    const result = await this.client.query({
      query: `SELECT * FROM ${latest('tenant_id = {tenantId:String}')} ORDER BY created_ms DESC, id LIMIT {limit:UInt32}`,
      query_params: { tenantId, limit },
      format: 'JSONEachRow',
    });
    return (await result.json<StoredRow>()).map(fromRow);
  }

  /**
   * What counts against the tenant's quotas: how many jobs it queued since `sinceMs` (and when
   * the oldest of them was queued), the bytes its running and ready files hold, and when its
   * oldest ready file was finished (it is deleted a TTL later).
   */
  async usage(tenantId: string, sinceMs: number): Promise<DownloadUsage> {
    const result = await this.client.query({
      query: `SELECT
  countIf(created_ms >= {since:Int64}) AS recent,
  minIf(created_ms, created_ms >= {since:Int64}) AS oldest_recent_ms,
  sumIf(bytes, status IN ('running', 'ready')) AS stored_bytes,
  minIf(updated_ms, status = 'ready') AS oldest_ready_ms
FROM ${latest('tenant_id = {tenantId:String}')}`,
      query_params: { tenantId, since: sinceMs },
      format: 'JSONEachRow',
    });
    const [row] = await result.json<Record<'recent' | 'oldest_recent_ms' | 'stored_bytes' | 'oldest_ready_ms', string | number>>();
    const recent = Number(row?.recent ?? 0);
    const oldestReady = Number(row?.oldest_ready_ms ?? 0);
    return {
      recentJobs: recent,
      oldestRecentMs: recent > 0 ? Number(row?.oldest_recent_ms) : undefined,
      storedBytes: Number(row?.stored_bytes ?? 0),
      oldestReadyMs: oldestReady > 0 ? oldestReady : undefined,
    };
  }

  /** The tenant's queued, running or ready job of this export, range and filters (filters in any order), if any. */
  async findSame(
    tenantId: string,
    kind: ExportKind,
    fromMs: number,
    toMs: number,
    filters: ExportFilters,
  ): Promise<DownloadJob | undefined> {
    const result = await this.client.query({
      query: `SELECT * FROM ${latest('tenant_id = {tenantId:String} AND export = {kind:String}')}
WHERE status IN ('queued', 'running', 'ready') ORDER BY created_ms DESC`,
      query_params: { tenantId, kind },
      format: 'JSONEachRow',
    });
    const wanted = canonicalFilters(filters);
    return (await result.json<StoredRow>())
      .map(fromRow)
      .find((job) => job.fromMs === fromMs && job.toMs === toMs && canonicalFilters(job.filters) === wanted);
  }

  /** How many of the tenant's jobs are in `status` now. */
  async countWithStatus(tenantId: string, status: DownloadStatus): Promise<number> {
    const result = await this.client.query({
      query: `SELECT count() AS n FROM ${latest('tenant_id = {tenantId:String}')} WHERE status = {status:String}`,
      query_params: { tenantId, status },
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ n: string | number }>();
    return Number(row?.n ?? 0);
  }

  /** Every tenant's jobs in one of `statuses`, oldest first. */
  async withStatus(statuses: readonly DownloadStatus[]): Promise<DownloadJob[]> {
    const result = await this.client.query({
      query: `SELECT * FROM ${latest('1')} WHERE status IN {statuses:Array(String)} ORDER BY created_ms, id`,
      query_params: { statuses: [...statuses] },
      format: 'JSONEachRow',
    });
    return (await result.json<StoredRow>()).map(fromRow);
  }

  /** The tenant's jobs in one of `statuses` now, oldest first. */
  async ofTenantWithStatus(tenantId: string, statuses: readonly DownloadStatus[]): Promise<DownloadJob[]> {
    const result = await this.client.query({
      query: `SELECT * FROM ${latest('tenant_id = {tenantId:String}')} WHERE status IN {statuses:Array(String)} ORDER BY created_ms, id`,
      query_params: { tenantId, statuses: [...statuses] },
      format: 'JSONEachRow',
    });
    return (await result.json<StoredRow>()).map(fromRow);
  }

  /** Ready jobs whose file was finished before `cutoffMs`. */
  async readyBefore(cutoffMs: number): Promise<DownloadJob[]> {
    const result = await this.client.query({
      query: `SELECT * FROM ${latest('1')} WHERE status = 'ready' AND updated_ms < {cutoff:Int64} ORDER BY updated_ms`,
      query_params: { cutoff: cutoffMs },
      format: 'JSONEachRow',
    });
    return (await result.json<StoredRow>()).map(fromRow);
  }
}
