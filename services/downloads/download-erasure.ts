import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import type { ClickHouseClient } from '../platform/clickhouse.js';
import type { DownloadStorage } from './download-storage.js';
import { DownloadStore, type DownloadJob } from './download-store.js';
import { DownloadTransitions } from './download-transitions.js';

/** What a job deleted for an erasure says instead of its file. */
export const ERASED_NOTE = 'its file was deleted: it held a customer whose data was erased; queue it again';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Does the file contain `needles` (any of them, as bytes)? Read as a stream, keeping the last
 * bytes of each chunk so that a needle split across two chunks is found. A plain byte search:
 * it also finds the id inside a longer value, which deletes a file too many, never one too few.
 */
export async function fileContains(source: Readable, needles: readonly string[]): Promise<boolean> {
  const wanted = needles.filter((needle) => needle !== '').map((needle) => Buffer.from(needle, 'utf8'));
  if (wanted.length === 0) return false;
  const keep = Math.max(...wanted.map((needle) => needle.length)) - 1;
  let tail = Buffer.alloc(0);
  try {
    for await (const chunk of source) {
      const window = Buffer.concat([tail, chunk as Buffer]);
      if (wanted.some((needle) => window.includes(needle))) return true;
      tail = window.subarray(Math.max(0, window.length - keep));
    }
    return false;
  } finally {
    source.destroy();
  }
}

export interface CustomerFilesOptions {
  client: ClickHouseClient;
  storage: DownloadStorage;
  tenantId: string;
  customerId: string;
  /** How long to wait for the tenant's running jobs to finish (their rows may predate the erasure); default 10 minutes. */
  waitForRunningMs?: number;
  /** How often the running jobs are looked at while waiting (default 250 ms). */
  pollMs?: number;
}

/**
 * Deletes the tenant's download files not yet expired that contain the customer id (as written, or
 * CSV-quoted), and marks their jobs expired with ERASED_NOTE; returns how many. Call it after the
 * raw rows are erased: jobs queued since then read erased rows; it first waits for the tenant's
 * running jobs (which may have read rows from before) to finish, then looks at every ready file.
 */
export async function deleteCustomerFiles(options: CustomerFilesOptions): Promise<number> {
  const store = new DownloadStore(options.client);
  const transitions = new DownloadTransitions(store, new EventEmitter());
  const deadline = Date.now() + (options.waitForRunningMs ?? 600_000);
  while ((await store.ofTenantWithStatus(options.tenantId, ['running'])).length > 0) {
    if (Date.now() > deadline) throw new Error('downloads of the tenant are still running; ask again once they are done');
    await sleep(options.pollMs ?? 250);
  }
  const needles = [options.customerId, options.customerId.replaceAll('"', '""')];
  let deleted = 0;
  for (const job of await store.ofTenantWithStatus(options.tenantId, ['ready'])) {
    const file = await options.storage.open(job.tenantId, job.id);
    if (file === undefined || !(await fileContains(file, needles))) continue;
    await options.storage.remove(job.tenantId, job.id);
    await transitions.write(job, { status: 'expired', file: '', error: ERASED_NOTE } satisfies Partial<DownloadJob>);
    deleted += 1;
  }
  return deleted;
}
