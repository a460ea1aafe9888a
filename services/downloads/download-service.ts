import { Counter, Gauge, type Registry } from 'prom-client';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { openExport, type ExportProgress, type ExportRequest } from '../reporting/index.js';
import type { ClickHouseClient } from '../platform/clickhouse.js';
import type { Config } from '../platform/config.js';
import type { Logger } from '../platform/logger.js';
import { DownloadFiles } from './download-files.js';
import { DownloadStore, type DownloadJob } from './download-store.js';

/**
 * Queued CSV downloads: a job is written to DATA_DIR/downloads/<tenant>/<id>.csv by the same
 * paging code as the streamed exports, its state kept in the `downloads` table.
 *
 *   queued → running → ready → expired (after DOWNLOADS_TTL_HOURS; the file is deleted)
 *                    ↘ failed (with the reason)
 *
 * - At most `concurrency` jobs run at once (the embedded engine runs one query at a time, so
 *   more would only interleave more pages), and at most `maxConcurrentPerTenant` of one tenant.
 * - start() picks up queued jobs and runs again, from scratch, jobs a previous process left
 *   `running`; a job interrupted that way twice fails with the reason instead of being tried
 *   a third time. stop() abandons running jobs cleanly (temporary file deleted, job queued
 *   again for the next start). No job is ever left running with nobody working on it.
 * - A periodic sweep deletes files older than the TTL and marks their jobs expired.
 *
 * Emits 'job' (DownloadJob) after every state change.
 */

export const RESTARTED_NOTE = 'interrupted by a restart; running it again';
export const INTERRUPTED_TWICE = 'interrupted by a restart twice; not run a third time — ask for this download again';

export interface DownloadServiceOptions {
  clickhouse: ClickHouseClient;
  logger: Logger;
  dataDir: string;
  ttlHours: number;
  maxConcurrentPerTenant: number;
  /** Jobs running at once, all tenants together (default 2). */
  concurrency?: number;
  /** Queued jobs one tenant may have waiting; more are refused (default 20). */
  maxQueuedPerTenant?: number;
  /** Jobs one tenant may queue per rolling hour (default: unlimited). */
  maxJobsPerHourPerTenant?: number;
  /** Bytes one tenant's running and ready files may hold (default: unlimited). */
  maxStoredBytesPerTenant?: number;
  /** How often expired files are swept (default 10 minutes). */
  sweepIntervalMs?: number;
  /** Rows per page query. */
  pageRows?: number;
  /** Where the job metrics go (sending_metrics_download_jobs_*). */
  registry?: Registry;
}

/** What a request asks for; the service adds the id, status and progress. */
export type DownloadSubmission = Pick<DownloadJob, 'tenantId' | 'userId' | 'export' | 'fromMs' | 'toMs' | 'filters'>;

/** A per-tenant limit refused a download; the message names the limit and when it frees. */
export class TooManyDownloadsError extends Error {
  override name = 'TooManyDownloadsError';
  constructor(
    message: string,
    /** Seconds until the limit frees (for Retry-After). */
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

const HOUR_MS = 3_600_000;
const secondsUntil = (ms: number) => Math.max(1, Math.ceil((ms - Date.now()) / 1000));

interface RunningJob {
  job: DownloadJob;
  controller: AbortController;
  progress?: ExportProgress;
  done: Promise<void>;
}

function exportRequest(job: DownloadJob): ExportRequest {
  return { kind: job.export, tenantId: job.tenantId, fromMs: job.fromMs, toMs: job.toMs, filters: job.filters };
}

function reason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.length > 500 ? `${message.slice(0, 500)}…` : message;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class DownloadService extends EventEmitter {
  private readonly store: DownloadStore;
  private readonly files: DownloadFiles;
  private readonly log: Logger;
  private readonly ttlMs: number;
  private readonly concurrency: number;
  private readonly maxQueuedPerTenant: number;
  private queue: DownloadJob[] = [];
  private readonly running = new Map<string, RunningJob>();
  private started = false;
  private sweepTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private sweeping: Promise<number> | undefined;
  private idleWaiters: (() => void)[] = [];
  private finished: Counter | undefined;

  static fromConfig(
    config: Config,
    clickhouse: ClickHouseClient,
    logger: Logger,
    overrides: Partial<DownloadServiceOptions> = {},
  ): DownloadService {
    return new DownloadService({
      clickhouse,
      logger,
      dataDir: config.dataDir,
      ttlHours: config.downloads.ttlHours,
      maxConcurrentPerTenant: config.downloads.maxConcurrentPerTenant,
      maxJobsPerHourPerTenant: config.downloads.maxJobsPerHourPerTenant,
      maxStoredBytesPerTenant: config.downloads.maxStoredBytesPerTenant,
      ...overrides,
    });
  }

  constructor(private readonly options: DownloadServiceOptions) {
    super();
    this.store = new DownloadStore(options.clickhouse);
    this.files = new DownloadFiles(options.dataDir);
    this.log = options.logger.child({ component: 'downloads' });
    this.ttlMs = options.ttlHours * 3_600_000;
    this.concurrency = options.concurrency ?? 2;
    this.maxQueuedPerTenant = options.maxQueuedPerTenant ?? 20;
    if (options.registry) {
      const registers = [options.registry];
      this.finished = new Counter({
        name: 'sending_metrics_download_jobs_finished_total',
        help: 'Download jobs finished by this process, by outcome (ready, failed)',
        labelNames: ['status'],
        registers,
      });
      const service = () => this;
      new Gauge({
        name: 'sending_metrics_download_jobs',
        help: 'Download jobs of this process now, by state (queued, running)',
        labelNames: ['state'],
        registers,
        collect() {
          this.set({ state: 'queued' }, service().queue.length);
          this.set({ state: 'running' }, service().running.size);
        },
      });
    }
  }

  /** Picks up the jobs left queued or running, starts the worker and the expiry sweep. */
  async start(): Promise<void> {
    if (this.started) return;
    await fs.promises.mkdir(this.files.root, { recursive: true });
    const leftovers = await this.files.removeTemporaryFiles();
    const queued = new Map<string, DownloadJob>();
    for (const job of await this.store.withStatus(['queued', 'running'])) {
      if (job.status === 'queued') {
        queued.set(job.id, job);
      } else if (job.error === RESTARTED_NOTE) {
        await this.transition(job, { status: 'failed', error: INTERRUPTED_TWICE, rows: 0, bytes: 0 });
      } else {
        queued.set(job.id, await this.transition(job, { status: 'queued', error: RESTARTED_NOTE, rows: 0, bytes: 0 }));
      }
    }
    this.queue = [...queued.values()];
    this.started = true;
    this.sweepTimer = setInterval(
      () => void this.sweep().catch((error: Error) => this.log.error({ err: error }, 'download sweep failed')),
      this.options.sweepIntervalMs ?? 600_000,
    );
    this.sweepTimer.unref();
    void this.sweep().catch((error: Error) => this.log.error({ err: error }, 'download sweep failed'));
    this.log.info({ queued: this.queue.length, temporaryFilesRemoved: leftovers, directory: this.files.root }, 'download worker started');
    this.pump();
  }

  /** Stops taking jobs; running ones are abandoned (queued again for the next start) and awaited. */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    clearInterval(this.sweepTimer);
    clearTimeout(this.retryTimer);
    const running = [...this.running.values()];
    for (const entry of running) entry.controller.abort();
    await Promise.all(running.map((entry) => entry.done));
    await this.sweeping?.catch(() => undefined);
    this.queue = [];
    this.notifyIdle();
    this.log.info({ abandoned: running.length }, 'download worker stopped');
  }

  /** Queues a job; throws TooManyDownloadsError when the tenant has too many waiting. */
  /**
   * Queues a download, or answers with the tenant's queued, running or ready job of the same
   * export, range and filters. Refuses (TooManyDownloadsError) past the tenant's limits: jobs
   * waiting, jobs queued in the last hour, bytes of files kept.
   */
  async submit(submission: DownloadSubmission): Promise<DownloadJob> {
    const same = await this.store.findSame(submission.tenantId, submission.export, submission.fromMs, submission.toMs, submission.filters);
    if (same) return this.withProgress(same);
    const waiting = this.queue.filter((job) => job.tenantId === submission.tenantId).length;
    if (waiting >= this.maxQueuedPerTenant) {
      throw new TooManyDownloadsError(
        `${waiting} downloads are already waiting; at most ${this.maxQueuedPerTenant} may wait at once — retry when some are ready`,
        60,
      );
    }
    await this.checkQuotas(submission.tenantId);
    const now = Date.now();
    const job: DownloadJob = {
      id: randomUUID(),
      ...submission,
      status: 'queued',
      rows: 0,
      bytes: 0,
      error: '',
      file: '',
      createdAt: now,
      updatedAt: now,
      version: now * 1000,
    };
    await this.store.save(job);
    this.emit('job', job);
    this.queue.push(job);
    this.pump();
    return job;
  }

  private async checkQuotas(tenantId: string): Promise<void> {
    const perHour = this.options.maxJobsPerHourPerTenant;
    const maxBytes = this.options.maxStoredBytesPerTenant;
    if (perHour === undefined && maxBytes === undefined) return;
    const usage = await this.store.usage(tenantId, Date.now() - HOUR_MS);
    if (perHour !== undefined && usage.recentJobs >= perHour && usage.oldestRecentMs !== undefined) {
      const freesAt = usage.oldestRecentMs + HOUR_MS;
      throw new TooManyDownloadsError(
        `${usage.recentJobs} downloads were queued in the last hour; at most ${perHour} per hour — the next one can be queued at ${new Date(freesAt).toISOString()}`,
        secondsUntil(freesAt),
      );
    }
    if (maxBytes !== undefined && usage.storedBytes >= maxBytes) {
      const freesAt = usage.oldestReadyMs === undefined ? undefined : usage.oldestReadyMs + this.ttlMs;
      throw new TooManyDownloadsError(
        `the tenant's ready downloads hold ${usage.storedBytes} bytes; at most ${maxBytes} may be kept — ` +
          (freesAt === undefined
            ? 'space frees when the running downloads finish and expire'
            : `space frees when the oldest expires at ${new Date(freesAt).toISOString()}`),
        freesAt === undefined ? 60 : secondsUntil(freesAt),
      );
    }
  }

  /** The tenant's job, with the rows written so far while it runs; undefined for another tenant's. */
  async get(tenantId: string, id: string): Promise<DownloadJob | undefined> {
    const job = await this.store.get(tenantId, id);
    return job && this.withProgress(job);
  }

  /** The tenant's jobs, newest first. */
  async list(tenantId: string, limit = 100): Promise<DownloadJob[]> {
    return (await this.store.list(tenantId, limit)).map((job) => this.withProgress(job));
  }

  /** When a ready job's file is deleted. */
  expiresAt(job: DownloadJob): number | undefined {
    return job.status === 'ready' ? job.updatedAt + this.ttlMs : undefined;
  }

  /** The file of the tenant's ready job, opened; undefined when there is none to serve. */
  async openFile(tenantId: string, id: string): Promise<{ job: DownloadJob; stream: fs.ReadStream } | undefined> {
    const job = await this.store.get(tenantId, id);
    if (!job || job.status !== 'ready') return undefined;
    try {
      const handle = await fs.promises.open(this.files.file(job.tenantId, job.id), 'r');
      return { job, stream: handle.createReadStream() };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  /** Deletes the files of jobs ready for longer than the TTL (as of `nowMs`) and marks them expired. */
  sweep(nowMs = Date.now()): Promise<number> {
    this.sweeping ??= (async () => {
      let expired = 0;
      for (const job of await this.store.readyBefore(nowMs - this.ttlMs)) {
        await this.files.remove(this.files.file(job.tenantId, job.id));
        await this.transition(job, { status: 'expired', file: '' });
        expired += 1;
      }
      if (expired > 0) this.log.info({ expired }, 'expired download files deleted');
      return expired;
    })().finally(() => {
      this.sweeping = undefined;
    });
    return this.sweeping;
  }

  /** Resolves once no job is queued or running (or the service stopped). */
  idle(): Promise<void> {
    if ((this.queue.length === 0 || !this.started) && this.running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Ids and tenants of the jobs running now. */
  runningJobs(): { id: string; tenantId: string }[] {
    return [...this.running.values()].map(({ job }) => ({ id: job.id, tenantId: job.tenantId }));
  }

  private withProgress(job: DownloadJob): DownloadJob {
    const progress = this.running.get(job.id)?.progress;
    return job.status === 'running' && progress ? { ...job, rows: progress.rows, bytes: progress.bytes } : job;
  }

  private notifyIdle(): void {
    if ((this.queue.length > 0 && this.started) || this.running.size > 0) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  /** Writes the next version of `job`; retried a few times, for a state must not be lost to a hiccup. */
  private async transition(job: DownloadJob, changes: Partial<DownloadJob>): Promise<DownloadJob> {
    const now = Date.now();
    const next: DownloadJob = { ...job, ...changes, updatedAt: now, version: Math.max(job.version + 1, now * 1000) };
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.store.save(next);
        break;
      } catch (error) {
        if (attempt >= 3) throw error;
        await sleep(250 * attempt);
      }
    }
    this.emit('job', next);
    return next;
  }

  /** Starts queued jobs while there is room, oldest first, skipping tenants at their limit. */
  private pump(): void {
    while (this.started && this.running.size < this.concurrency) {
      const index = this.queue.findIndex((job) => this.runningOf(job.tenantId) < this.options.maxConcurrentPerTenant);
      if (index === -1) break;
      const [job] = this.queue.splice(index, 1);
      this.launch(job!);
    }
    this.notifyIdle();
  }

  private runningOf(tenantId: string): number {
    let count = 0;
    for (const { job } of this.running.values()) if (job.tenantId === tenantId) count += 1;
    return count;
  }

  private launch(job: DownloadJob): void {
    const entry: RunningJob = { job, controller: new AbortController(), done: Promise.resolve() };
    this.running.set(job.id, entry);
    entry.done = this.run(entry)
      .catch((error: Error) => this.log.error({ err: error, download: job.id }, 'download job could not record its state'))
      .finally(() => {
        this.running.delete(job.id);
        this.pump();
      });
  }

  private async run(entry: RunningJob): Promise<void> {
    const { controller } = entry;
    let job: DownloadJob;
    try {
      job = await this.transition(entry.job, { status: 'running' });
    } catch (error) {
      // Nothing started: wait a little and try again (the job is still queued in the table).
      this.log.warn({ err: error, download: entry.job.id }, 'could not start a download job; retrying');
      if (this.started) {
        this.queue.unshift(entry.job);
        this.retryTimer = setTimeout(() => this.pump(), 2000);
      }
      return;
    }
    entry.job = job;
    const file = this.files.file(job.tenantId, job.id);
    const temporary = this.files.temporary(job.tenantId, job.id);
    const started = performance.now();
    try {
      await fs.promises.mkdir(this.files.tenantDirectory(job.tenantId), { recursive: true });
      const opened = await openExport(this.options.clickhouse, exportRequest(job), {
        signal: controller.signal,
        pageRows: this.options.pageRows,
      });
      entry.progress = opened.progress;
      await pipeline(opened.stream, fs.createWriteStream(temporary, { flush: true }), { signal: controller.signal });
      // An export stopped by the signal ends early but quietly: never take it for a whole file.
      controller.signal.throwIfAborted();
      await fs.promises.rename(temporary, file);
      const { size } = await fs.promises.stat(file);
      await this.transition(job, { status: 'ready', rows: opened.progress.rows, bytes: size, file: this.files.relative(file), error: '' });
      this.finished?.inc({ status: 'ready' });
      this.log.info(
        { download: job.id, export: job.export, rows: opened.progress.rows, bytes: size, ms: Math.round(performance.now() - started) },
        'download ready',
      );
    } catch (error) {
      await this.files.remove(temporary);
      if (controller.signal.aborted) {
        // Abandoned by stop(): queued again, so the next start runs it from scratch.
        await this.transition(job, { status: 'queued', rows: 0, bytes: 0 });
        return;
      }
      this.log.warn({ err: error, download: job.id }, 'download failed');
      await this.transition(job, { status: 'failed', error: reason(error), rows: 0, bytes: 0 });
      this.finished?.inc({ status: 'failed' });
    }
  }
}
