import { Counter, Gauge, type Registry } from 'prom-client';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { EventEmitter } from 'node:events';
import type { ClickHouseClient } from '../platform/clickhouse.js';
import type { Config } from '../platform/config.js';
import type { Logger } from '../platform/logger.js';
import { LocalDownloadStorage, type DownloadStorage } from './download-storage.js';
import { S3DownloadStorage } from './s3-storage.js';
import { DownloadStore, type DownloadJob } from './download-store.js';
import { DownloadTransitions } from './download-transitions.js';
import { DownloadJobRunner } from './download-job-runner.js';
import { DownloadWorker } from './download-worker.js';
import { DownloadSweep } from './download-sweep.js';
import { DownloadSubmissions, type DownloadSubmission } from './download-submissions.js';
import { DownloadSubmissionStore } from './download-submission-store.js';
import { DownloadRequestPublisher, downloadKafkaFromConfig, type DownloadKafkaOptions } from './download-requests.js';

/**
 * Queued CSV downloads, as the API and the CLI use them: a job is written by the same paging code
 * as the streamed exports to a file of the storage (DATA_DIR/downloads or S3), its state kept in
 * the `downloads` table, which every replica reads.
 *
 *   queued → running → ready → expired (after DOWNLOADS_TTL_HOURS; the file is deleted)
 *                    ↘ failed (with the reason)
 *
 * Jobs are handed out through Kafka (the `download-requests` topic):
 * - submit() admits the request (download-submissions.ts: quotas, identical requests) and
 *   publishes it; when Kafka cannot be reached the job is failed and DownloadsUnavailableError
 *   thrown (the API answers 503).
 * - With `kafka.worker` (role downloads), start() joins the workers' consumer group
 *   (download-worker.ts: leases, fencing, commits) whose members run each job
 *   (download-job-runner.ts), and starts the expiry sweep (download-sweep.ts). stop() abandons
 *   running jobs cleanly (temporary file deleted, job queued again for the next owner).
 * - A running job's rows and bytes so far are recorded every `progressEveryMs` (a new version of
 *   its row, still `running`), so that a replica other than its worker shows its progress.
 *
 * Emits 'job' (DownloadJob) after every state change, 'progress' (DownloadJob) after every progress
 * record, 'assigned' (partitions) when a worker joins its group, and 'waiting' (DownloadJob) when it
 * waits for another worker's run of a job.
 */

export interface DownloadServiceOptions {
  clickhouse: ClickHouseClient;
  logger: Logger;
  dataDir: string;
  ttlHours: number;
  /** The requests topic and the workers' group (see DownloadKafkaOptions). */
  kafka: DownloadKafkaOptions;
  /** Jobs (partitions) one worker runs at once, all tenants together (default 2). */
  concurrency?: number;
  /** Queued jobs one tenant may have waiting; more are refused (default 20). */
  maxQueuedPerTenant?: number;
  /** Jobs one tenant may queue per rolling hour (default: unlimited). */
  maxJobsPerHourPerTenant?: number;
  /** Bytes one tenant's running and ready files may hold (default: unlimited). */
  maxStoredBytesPerTenant?: number;
  /** How often expired files are swept (default 10 minutes). */
  sweepIntervalMs?: number;
  /** Rows per page query where an export is read in keyset pages (a ClickHouse server). */
  pageRows?: number;
  /** RAW_RETENTION_DAYS: metric tables with an edge before the raw cut-off are counted over whole 15-minute buckets, and the job says so. */
  rawRetentionDays?: number;
  /** How often a running job's rows and bytes so far are recorded, for every replica to show (default 2 s). */
  progressEveryMs?: number;
  /**
   * A running job whose row was not renewed for this long is taken to be abandoned by its worker
   * and run again by another (default 60 s). A run renews it with every progress record, and at
   * least every third of it.
   */
  leaseMs?: number;
  /** Where the job metrics go (sending_metrics_download_jobs_*). */
  registry?: Registry;
  /** Where files go (default: DATA_DIR/downloads). */
  storage?: DownloadStorage;
}

/** The storage DOWNLOADS_URL names. */
export function downloadStorageFromConfig(config: Config): DownloadStorage {
  const url = config.downloads.url;
  if (!url) return new LocalDownloadStorage(config.dataDir);
  return new S3DownloadStorage({
    url,
    endpoint: config.downloads.s3Endpoint,
    region: config.downloads.s3Region,
    maxAttempts: config.downloads.s3MaxAttempts,
  });
}

export class DownloadService extends EventEmitter {
  private readonly store: DownloadStore;
  readonly storage: DownloadStorage;
  private readonly ttlMs: number;
  private readonly publisher: DownloadRequestPublisher;
  private readonly submissions: DownloadSubmissions;
  private readonly worker: DownloadWorker;
  private readonly sweeper: DownloadSweep;
  private started = false;
  /** This worker, as the owner of the runs it claims. */
  readonly workerId = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

  /**
   * The service as the configuration describes it; `overrides.kafka` defaults to the configured
   * topic and group, this process queueing and running jobs (as `--role all` does).
   */
  static fromConfig(
    config: Config,
    clickhouse: ClickHouseClient,
    logger: Logger,
    overrides: Partial<DownloadServiceOptions> = {},
  ): DownloadService {
    return new DownloadService({
      storage: overrides.storage ?? downloadStorageFromConfig(config),
      clickhouse,
      logger,
      dataDir: config.dataDir,
      ttlHours: config.downloads.ttlHours,
      maxJobsPerHourPerTenant: config.downloads.maxJobsPerHourPerTenant,
      maxStoredBytesPerTenant: config.downloads.maxStoredBytesPerTenant,
      leaseMs: config.downloads.leaseMs,
      rawRetentionDays: config.rawRetentionDays,
      ...overrides,
      kafka: overrides.kafka ?? downloadKafkaFromConfig(config, logger, true),
    });
  }

  constructor(private readonly options: DownloadServiceOptions) {
    super();
    const logger = options.logger.child({ component: 'downloads' });
    this.store = new DownloadStore(options.clickhouse);
    this.storage = options.storage ?? new LocalDownloadStorage(options.dataDir);
    this.ttlMs = options.ttlHours * 3_600_000;
    const leaseMs = options.leaseMs ?? 60_000;
    const transitions = new DownloadTransitions(this.store, this);
    const finished = options.registry
      ? new Counter({
          name: 'sending_metrics_download_jobs_finished_total',
          help: 'Download jobs finished by this process, by outcome (ready, failed)',
          labelNames: ['status'],
          registers: [options.registry],
        })
      : undefined;
    const runner = new DownloadJobRunner({
      clickhouse: options.clickhouse,
      storage: this.storage,
      transitions,
      logger,
      workerId: this.workerId,
      leaseMs,
      progressEveryMs: options.progressEveryMs,
      pageRows: options.pageRows,
      rawRetentionDays: options.rawRetentionDays,
      finished,
    });
    this.worker = new DownloadWorker({
      kafka: options.kafka,
      store: this.store,
      storage: this.storage,
      transitions,
      runner,
      events: this,
      logger,
      workerId: this.workerId,
      leaseMs,
      concurrency: options.concurrency ?? 2,
    });
    this.sweeper = new DownloadSweep({
      store: this.store,
      storage: this.storage,
      transitions,
      logger,
      ttlMs: this.ttlMs,
      intervalMs: options.sweepIntervalMs,
    });
    this.publisher = new DownloadRequestPublisher(options.kafka);
    this.submissions = new DownloadSubmissions({
      store: this.store,
      submissionStore: new DownloadSubmissionStore(options.clickhouse),
      transitions,
      publisher: this.publisher,
      events: this,
      logger,
      ttlMs: this.ttlMs,
      maxQueuedPerTenant: options.maxQueuedPerTenant ?? 20,
      maxJobsPerHourPerTenant: options.maxJobsPerHourPerTenant,
      maxStoredBytesPerTenant: options.maxStoredBytesPerTenant,
      withProgress: (job) => this.worker.withProgress(job),
    });
    if (options.registry) {
      const worker = this.worker;
      new Gauge({
        name: 'sending_metrics_download_jobs',
        help: 'Download jobs of this process now, by state (queued, running)',
        labelNames: ['state'],
        registers: [options.registry],
        collect() {
          // Queued jobs wait in Kafka, not in a process.
          this.set({ state: 'queued' }, 0);
          this.set({ state: 'running' }, worker.size);
        },
      });
    }
  }

  /** A worker (kafka.worker) joins the group and starts the expiry sweep; a process that only queues jobs has nothing to start. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    if (!this.options.kafka.worker) return;
    await this.worker.start();
    this.sweeper.start();
  }

  /** Stops taking jobs; running ones are abandoned (queued again for the next owner) and awaited. The producer closes, started or not. */
  async stop(): Promise<void> {
    this.started = false;
    await this.worker.stop();
    await this.sweeper.stop();
    await this.publisher.close();
  }

  /** For /readyz: can files be stored? */
  async health(): Promise<{ ok: boolean; detail?: string }> {
    const storage = await this.storage.check();
    if (!storage.ok) return { ok: false, detail: `download storage: ${storage.detail ?? 'unavailable'}` };
    return { ok: true };
  }

  /** Queues a download (see DownloadSubmissions). */
  submit(submission: DownloadSubmission): Promise<DownloadJob> {
    return this.submissions.submit(submission);
  }

  /** The tenant's job, with the rows written so far while it runs; undefined for another tenant's. */
  async get(tenantId: string, id: string): Promise<DownloadJob | undefined> {
    const job = await this.store.get(tenantId, id);
    return job && this.worker.withProgress(job);
  }

  /** The tenant's jobs, newest first. */
  async list(tenantId: string, limit = 100): Promise<DownloadJob[]> {
    return (await this.store.list(tenantId, limit)).map((job) => this.worker.withProgress(job));
  }

  /** When a ready job's file is deleted. */
  expiresAt(job: DownloadJob): number | undefined {
    return job.status === 'ready' ? job.updatedAt + this.ttlMs : undefined;
  }

  /** The file of the tenant's ready job, opened; undefined when there is none to serve. */
  async openFile(tenantId: string, id: string): Promise<{ job: DownloadJob; stream: NodeJS.ReadableStream } | undefined> {
    const job = await this.store.get(tenantId, id);
    if (!job || job.status !== 'ready') return undefined;
    const stream = await this.storage.open(job.tenantId, job.id);
    return stream && { job, stream };
  }

  /** Deletes the files of jobs ready for longer than the TTL (as of `nowMs`) and marks them expired. */
  sweep(nowMs = Date.now()): Promise<number> {
    return this.sweeper.sweep(nowMs);
  }

  /** Ids and tenants of the jobs running now. */
  runningJobs(): { id: string; tenantId: string }[] {
    return this.worker.runningJobs();
  }
}
