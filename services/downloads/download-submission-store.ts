import type { ClickHouseClient } from '../platform/clickhouse.js';

/**
 * The `download_submissions` table (013_download_submissions.sql, ReplacingMergeTree(version)):
 * every download request as submitted, then decided (see download-admission.ts), so that every
 * replica decides on a tenant's requests of the last hour the same way.
 */

/** A submission's decision: '' while undecided (see 013_download_submissions.sql). */
export type SubmissionDecision = '' | 'accepted' | 'duplicate' | 'refused' | 'withdrawn';

export interface DownloadSubmissionRow {
  id: string;
  requestKey: string;
  /** The server's clock at the insert, in microseconds. */
  submittedUs: number;
  decision: SubmissionDecision;
  /** The job it was accepted as, or the duplicate's job; '' otherwise. */
  jobId: string;
  version: number;
  /** Is the job of an accepted submission queued, running or ready now? */
  jobLive: boolean;
}

/** `YYYY-MM-DD hh:mm:ss.ffffff` in UTC: a DateTime64(6, 'UTC') value. */
function dateTime64MicroText(us: number): string {
  const seconds = Math.floor(us / 1_000_000);
  return `${new Date(seconds * 1000).toISOString().slice(0, 19).replace('T', ' ')}.${String(us - seconds * 1_000_000).padStart(6, '0')}`;
}

export class DownloadSubmissionStore {
  constructor(private readonly client: ClickHouseClient) {}

  /** Records a new submission, undecided; the server stamps submitted_at. */
  async recordSubmission(tenantId: string, id: string, key: string): Promise<void> {
    await this.client.insert({
      table: 'download_submissions',
      format: 'JSONEachRow',
      values: [{ tenant_id: tenantId, id, request_key: key, decision: '', job_id: '', version: 1 }],
    });
  }

  /** Records the decision on a submission as its next version. */
  async decideSubmission(tenantId: string, row: DownloadSubmissionRow, decision: SubmissionDecision, jobId: string): Promise<void> {
    await this.client.insert({
      table: 'download_submissions',
      format: 'JSONEachRow',
      values: [
        {
          tenant_id: tenantId,
          id: row.id,
          request_key: row.requestKey,
          submitted_at: dateTime64MicroText(row.submittedUs),
          decision,
          job_id: jobId,
          version: row.version + 1,
        },
      ],
    });
  }

  /**
   * The tenant's submissions of the last `windowMs` by the server's clock (or one of them, by
   * id), latest version each, in (submitted_at, id) order, with whether an accepted one's job is
   * live.
   */
  async submissions(tenantId: string, windowMs: number, id?: string): Promise<DownloadSubmissionRow[]> {
    const result = await this.client.query({
      query: `SELECT s.id AS id, s.request_key AS request_key, s.submitted_us AS submitted_us, s.decision AS decision,
  s.job_id AS job_id, s.version AS version, j.status IN ('queued', 'running', 'ready') AS job_live
FROM (
  SELECT id, request_key, toUnixTimestamp64Micro(submitted_at) AS submitted_us, decision, job_id, version
  FROM download_submissions
  WHERE tenant_id = {tenantId:String} AND submitted_at >= now64(6) - toIntervalMillisecond({windowMs:UInt64})
    ${id === undefined ? '' : 'AND id = {id:String}'}
  ORDER BY version DESC LIMIT 1 BY id
) AS s
LEFT JOIN (
  SELECT id, status FROM downloads WHERE tenant_id = {tenantId:String} ORDER BY version DESC LIMIT 1 BY id
) AS j ON j.id = s.job_id
ORDER BY submitted_us, id`,
      query_params: { tenantId, windowMs, id: id ?? '' },
      format: 'JSONEachRow',
    });
    const rows = await result.json<Record<string, string | number | boolean>>();
    return rows.map((row) => ({
      id: String(row.id),
      requestKey: String(row.request_key),
      submittedUs: Number(row.submitted_us),
      decision: String(row.decision) as SubmissionDecision,
      jobId: String(row.job_id),
      version: Number(row.version),
      jobLive: Number(row.job_live) === 1 || row.job_live === true,
    }));
  }

  /** How many of the tenant's submissions of the last `windowMs` were accepted, and when the oldest of them was made. */
  async acceptedSubmissions(tenantId: string, windowMs: number): Promise<{ count: number; oldestMs: number | undefined }> {
    const result = await this.client.query({
      query: `SELECT count() AS n, min(submitted_us) AS oldest_us FROM (
  SELECT decision, toUnixTimestamp64Micro(submitted_at) AS submitted_us FROM download_submissions
  WHERE tenant_id = {tenantId:String} AND submitted_at >= now64(6) - toIntervalMillisecond({windowMs:UInt64})
  ORDER BY version DESC LIMIT 1 BY id
) WHERE decision = 'accepted'`,
      query_params: { tenantId, windowMs },
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ n: string | number; oldest_us: string | number }>();
    const count = Number(row?.n ?? 0);
    return { count, oldestMs: count > 0 ? Math.floor(Number(row?.oldest_us) / 1000) : undefined };
  }
}
