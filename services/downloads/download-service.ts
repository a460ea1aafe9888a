import { Counter, Gauge, type Registry } from 'prom-client';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { EventEmitter } from 'node:events';
import type { Consumer, Kafka, Producer } from 'kafkajs';
import { openExport, type ExportProgress, type ExportRequest } from '../reporting/index.js';
import type { ClickHouseClient } from '../platform/clickhouse.js';
import type { Config } from '../platform/config.js';
import type { Logger } from '../platform/logger.js';
import { ensureTopics } from '../platform/kafka.js';
import { LocalDownloadStorage, type DownloadStorage } from './download-storage.js';
import { S3DownloadStorage } from './s3-storage.js';
import { DownloadStore, requestKey, type DownloadJob, type DownloadSubmissionRow } from './download-store.js';
import { admission } from './download-admission.js';

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
 * With `kafka` (every deployed process: API replicas and download workers), jobs are handed out
 * through Kafka instead of the in-process queue:
 * - submit() records the job (queued) and publishes {id, tenant} to `download-requests`, keyed
 *   by tenant; when Kafka cannot be reached the job is marked failed and DownloadsUnavailableError
 *   thrown (the API answers 503).
 * - Workers (`worker: true`) form the consumer group DOWNLOADS_GROUP_ID and run each message's job
 *   inside eachMessage, heartbeating meanwhile; the offset is committed only once the job is
 *   ready or failed. A worker that dies mid-job leaves it uncommitted: whoever gets the partition
 *   runs the job again (it reads `running`, notes the restart) and writes the same file, after
 *   aborting the dead worker's multipart upload. Messages of one partition run one after the
 *   other, and one tenant's jobs all go to one partition: one tenant never has more than one job
 *   running in the whole deployment, which is within DOWNLOADS_MAX_CONCURRENT_PER_TENANT (≥ 1).
 *   A worker runs at most `concurrency` partitions at once.
 * - Job state stays in the `downloads` table, which every replica reads.
 *
 * - A running job's rows and bytes so far are recorded every `progressEveryMs` (a new version of
 *   its row, still `running`), so that a replica other than its worker shows its progress.
 *
 * Emits 'job' (DownloadJob) after every state change, 'progress' (DownloadJob) after every progress
 * record, and 'assigned' (partitions) when a worker joins its group.
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
  /** Rows per page query where an export is read in keyset pages (a ClickHouse server). */
  pageRows?: number;
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
  /** Hand jobs out through Kafka (see above); without it the in-process queue runs them. */
  kafka?: DownloadKafkaOptions;
}

export interface DownloadKafkaOptions {
  kafka: Kafka;
  /** The `download-requests` topic (with TOPIC_PREFIX). */
  topic: string;
  groupId: string;
  partitions: number;
  replicationFactor?: number;
  sessionTimeoutMs: number;
  /** Does this process run jobs (role downloads), or only queue them (role api)? */
  worker: boolean;
  /**
   * How long POST /v1/downloads waits for Kafka to acknowledge a job before answering 503
   * (DOWNLOADS_PUBLISH_TIMEOUT_MS, default 5 s); the job is then failed and not charged to the quota.
   */
  publishTimeoutMs?: number;
  /** How long the group waits for a member busy with a job to rejoin at a rebalance (default 10 minutes). */
  rebalanceTimeoutMs?: number;
}

export function downloadRequestsTopic(config: Pick<Config, 'topicPrefix'>): string {
  return `${config.topicPrefix}download-requests`;
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

/** Jobs cannot be queued now (Kafka unreachable); the API answers 503. */
export class DownloadsUnavailableError extends Error {
  override name = 'DownloadsUnavailableError';
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
/** How long a duplicate waits for another replica's decision on the identical submission. */
const DUPLICATE_WAIT_MS = 10_000;
export const DEFAULT_PUBLISH_TIMEOUT_MS = 5000;

/** Kafka did not acknowledge a download request within the publish timeout. */
class PublishTimeoutError extends Error {
  override name = 'PublishTimeoutError';
  constructor(readonly timeoutMs: number) {
    super(`Kafka did not acknowledge within ${timeoutMs} ms`);
  }
}

function hourlyLimit(count: number, perHour: number, oldestMs: number | undefined): TooManyDownloadsError {
  const freesAt = (oldestMs ?? Date.now()) + HOUR_MS;
  return new TooManyDownloadsError(
    `${count} downloads were queued in the last hour; at most ${perHour} per hour — the next one can be queued at ${new Date(freesAt).toISOString()}`,
    secondsUntil(freesAt),
  );
}

interface RunningJob {
  job: DownloadJob;
  /** The version the claim expects to replace (the one read before it); default `job`. */
  expected?: DownloadJob;
  controller: AbortController;
  progress?: ExportProgress;
  done: Promise<RunOutcome>;
}

/** done: its end recorded (or dropped: superseded); unclaimed: the claim could not be written; superseded: another worker claimed it first. */
type RunOutcome = 'done' | 'unclaimed' | 'superseded';

/** The write belongs to a run of the job that is no longer its current one, or the job changed under a claim. */
class SupersededError extends Error {
  override name = 'SupersededError';
}

/**
 * Versions fence the runs of a job even when writes race: run k's versions are above every
 * version run k-1 writes within ATTEMPT_STEP microseconds (116 days) of run k's claim, and a final
 * state (ready, expired) is above every version of any run, so that a late write of an old run
 * (a `failed` after its upload was aborted, a progress record) never becomes the latest.
 * Everything stays below 2^53 (today's microseconds ~1.8e15 + FINAL_STEP + 100 runs).
 */
const ATTEMPT_STEP = 1e13;
const FINAL_STEP = 2e15;

function nextVersion(previous: DownloadJob, next: DownloadJob): number {
  const final = next.status === 'ready' || next.status === 'expired' ? FINAL_STEP : 0;
  return Math.max(previous.version + 1, next.updatedAt * 1000 + (next.attempt ?? 0) * ATTEMPT_STEP + final);
}

/** Is `current` (the job's latest version) past the run `run`: another run, another owner, or final? */
function superseded(current: DownloadJob, run: DownloadJob): boolean {
  if ((current.attempt ?? 0) !== (run.attempt ?? 0) || current.owner !== run.owner) return true;
  return current.status === 'ready' || current.status === 'expired' || current.status === 'failed';
}

function exportRequest(job: DownloadJob): ExportRequest {
  return { kind: job.export, tenantId: job.tenantId, fromMs: job.fromMs, toMs: job.toMs, filters: job.filters };
}

function reason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.length > 500 ? `${message.slice(0, 500)}…` : message;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Creates the download-requests topic if it is missing (the API publishes to it, workers read it). */
async function ensureRequestsTopic(options: DownloadKafkaOptions): Promise<void> {
  const admin = options.kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, options.partitions, [options.topic], { replicationFactor: options.replicationFactor });
  } finally {
    await admin.disconnect();
  }
}

export class DownloadService extends EventEmitter {
  private readonly store: DownloadStore;
  readonly storage: DownloadStorage;
  private producer: Producer | undefined;
  private producing: Promise<Producer> | undefined;
  private consumer: Consumer | undefined;
  private crashed = false;
  private releaseFrozen: () => void = () => undefined;
  private readonly released = new Promise<void>((resolve) => (this.releaseFrozen = resolve));
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
  /** Per tenant: the end of its latest submit in this process (submits of one tenant run one at a time). */
  private readonly submitting = new Map<string, Promise<void>>();
  private finished: Counter | undefined;
  /** This worker, as the owner of the runs it claims. */
  readonly workerId = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly leaseMs: number;

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
      maxConcurrentPerTenant: config.downloads.maxConcurrentPerTenant,
      maxJobsPerHourPerTenant: config.downloads.maxJobsPerHourPerTenant,
      maxStoredBytesPerTenant: config.downloads.maxStoredBytesPerTenant,
      leaseMs: config.downloads.leaseMs,
      ...overrides,
    });
  }

  constructor(private readonly options: DownloadServiceOptions) {
    super();
    this.store = new DownloadStore(options.clickhouse);
    this.storage = options.storage ?? new LocalDownloadStorage(options.dataDir);
    this.log = options.logger.child({ component: 'downloads' });
    this.ttlMs = options.ttlHours * 3_600_000;
    this.concurrency = options.concurrency ?? 2;
    this.maxQueuedPerTenant = options.maxQueuedPerTenant ?? 20;
    this.leaseMs = options.leaseMs ?? 60_000;
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
    if (this.options.kafka) return this.startKafka(this.options.kafka);
    const leftovers = await this.prepareStorage();
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
    this.startSweep();
    this.log.info(
      { queued: this.queue.length, temporaryFilesRemoved: leftovers, storage: this.storage.description },
      'download worker started',
    );
    this.pump();
  }

  /** Leftovers of a stopped process removed; a store that cannot be reached now is only logged (readiness says so; jobs fail with the reason). */
  private async prepareStorage(): Promise<number> {
    try {
      return await this.storage.prepare();
    } catch (error) {
      this.log.warn({ err: error, storage: this.storage.description }, 'download storage could not be prepared');
      return 0;
    }
  }

  private startSweep(): void {
    this.sweepTimer = setInterval(
      () => void this.sweep().catch((error: Error) => this.log.error({ err: error }, 'download sweep failed')),
      this.options.sweepIntervalMs ?? 600_000,
    );
    this.sweepTimer.unref();
    void this.sweep().catch((error: Error) => this.log.error({ err: error }, 'download sweep failed'));
  }

  private async startKafka(options: DownloadKafkaOptions): Promise<void> {
    this.started = true;
    if (!options.worker) return;
    const leftovers = await this.prepareStorage();
    await ensureRequestsTopic(options);
    const consumer = options.kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs,
      heartbeatInterval: Math.max(500, Math.floor(options.sessionTimeoutMs / 10)),
      // A member finishing a long job still rejoins in time (and one that does not is waited for: see runAssigned).
      rebalanceTimeout: options.rebalanceTimeoutMs ?? 600_000,
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      const partitions = event.payload.memberAssignment[options.topic] ?? [];
      this.log.info({ partitions }, 'download worker owns its partitions');
      this.emit('assigned', partitions);
    });
    await consumer.connect();
    // From the beginning when the group has no offset yet: a job queued before any worker joined still runs.
    await consumer.subscribe({ topics: [options.topic], fromBeginning: true });
    await consumer.run({
      partitionsConsumedConcurrently: this.concurrency,
      eachMessage: async (payload) => {
        const { message } = payload;
        if (!message.value) return;
        let request: { id?: unknown; tenantId?: unknown };
        try {
          request = JSON.parse(message.value.toString()) as typeof request;
        } catch {
          this.log.warn({ offset: message.offset }, 'download request that is not JSON skipped');
          return;
        }
        if (typeof request.id !== 'string' || typeof request.tenantId !== 'string') return;
        await this.runAssigned(request.tenantId, request.id, () => payload.heartbeat());
      },
    });
    this.startSweep();
    this.log.info({ storage: this.storage.description, topic: options.topic, abortedUploads: leftovers }, 'download worker started');
  }

  /**
   * Runs one job handed out by Kafka. Returns (the offset is committed) only once the job's state
   * is durably recorded as done: ready, failed or expired — by this worker or by another one, which
   * is waited for while it holds the job's lease. Throws (offset left uncommitted, the message is
   * delivered again) when the job could not be claimed or its end not recorded, or was abandoned.
   */
  private async runAssigned(tenantId: string, id: string, heartbeat: () => Promise<void>): Promise<void> {
    if (this.crashed) await this.frozen();
    if (!this.started) throw new Error('download worker stopping');
    const beat = setInterval(() => {
      if (!this.crashed) void heartbeat().catch(() => undefined);
    }, 1000);
    try {
      let waited = false;
      for (;;) {
        if (!this.started) throw new Error('download worker stopping');
        const job = await this.store.get(tenantId, id);
        if (!job || (job.status !== 'queued' && job.status !== 'running')) return; // done already (or expired)
        let claim = job;
        if (job.status === 'running') {
          const leased = Date.now() - job.updatedAt < this.leaseMs;
          if (job.owner !== this.workerId && leased) {
            // Another worker runs it and renews its lease (a rebalance moved the partition meanwhile): wait for its end.
            if (!waited) this.emit('waiting', job);
            waited = true;
            await Promise.race([sleep(Math.min(1000, this.leaseMs / 4)), this.frozen()]);
            if (this.crashed) await this.frozen();
            continue;
          }
          // Its worker stopped renewing the lease (or is this one, which no longer runs it): run it again.
          this.log.warn({ download: job.id, owner: job.owner, attempt: job.attempt }, 'download job left running; running it again');
          if (job.error === RESTARTED_NOTE) {
            try {
              const changes = { status: 'failed', error: INTERRUPTED_TWICE, rows: 0, bytes: 0, attempt: (job.attempt ?? 0) + 1 } as const;
              await this.transition(job, { ...changes, owner: this.workerId }, { expect: job });
              return;
            } catch (error) {
              if (error instanceof SupersededError) continue;
              throw error;
            }
          }
          claim = { ...job, error: RESTARTED_NOTE, rows: 0, bytes: 0 };
        }
        const entry: RunningJob = { job: claim, expected: job, controller: new AbortController(), done: Promise.resolve('done') };
        this.running.set(job.id, entry);
        let outcome: RunOutcome;
        try {
          entry.done = this.run(entry);
          await Promise.race([entry.done, this.frozen()]);
          if (this.crashed) await this.frozen();
          if (this.crashed) throw new Error('download worker crashed (simulated)');
          outcome = await entry.done;
        } finally {
          this.running.delete(job.id);
          this.notifyIdle();
        }
        if (outcome === 'unclaimed') throw new Error('could not record that the download started; left for the message to come again');
        // Another worker claimed it meanwhile, or took it over from this one: wait for its end.
        if (outcome === 'superseded' || entry.controller.signal.reason instanceof SupersededError) continue;
        if (entry.controller.signal.aborted) throw new Error('download job abandoned; left for the next owner of its partition');
        return;
      }
    } finally {
      clearInterval(beat);
    }
  }

  /**
   * For tests: behaves as a kill -9 of this worker would, as far as the rest of the deployment
   * can tell — no more heartbeats, commits or state changes, and the running uploads left as they
   * are. The consumer is left to time out of its group.
   */
  simulateCrash(): void {
    this.crashed = true;
    clearInterval(this.sweepTimer);
  }

  /** While "crashed": never resolves until stop() (a frozen process does nothing more). */
  private frozen(): Promise<void> {
    return this.released;
  }

  /** For /readyz: can files be stored, and (with Kafka) jobs queued? */
  async health(): Promise<{ ok: boolean; detail?: string }> {
    const storage = await this.storage.check();
    if (!storage.ok) return { ok: false, detail: `download storage: ${storage.detail ?? 'unavailable'}` };
    return { ok: true };
  }

  /** Stops taking jobs; running ones are abandoned (queued again for the next start) and awaited. */
  async stop(): Promise<void> {
    if (!this.started && !this.crashed) return;
    this.started = false;
    clearInterval(this.sweepTimer);
    if (this.crashed) {
      // The "dead" worker: its frozen handlers are released (they throw: nothing committed), its connections closed.
      this.releaseFrozen();
      await this.consumer?.disconnect().catch(() => undefined);
      return;
    }
    clearTimeout(this.retryTimer);
    const running = [...this.running.values()];
    for (const entry of running) entry.controller.abort();
    await Promise.all(running.map((entry) => entry.done));
    await this.sweeping?.catch(() => undefined);
    this.queue = [];
    this.notifyIdle();
    await this.consumer?.disconnect().catch(() => undefined);
    await this.producer?.disconnect().catch(() => undefined);
    this.log.info({ abandoned: running.length }, 'download worker stopped');
  }

  /**
   * Queues a download, or answers with the tenant's queued, running or ready job of the same
   * export, range and filters. Refuses (TooManyDownloadsError) past the tenant's limits: jobs
   * waiting, jobs queued in the last hour, bytes of files kept. The decision is atomic per tenant:
   * one at a time per tenant in this process, and across replicas by the submissions table (see
   * download-admission.ts). A job that could not be handed to Kafka is withdrawn (failed, and not
   * counted against the quota) and DownloadsUnavailableError thrown.
   */
  async submit(submission: DownloadSubmission): Promise<DownloadJob> {
    const admitted = await this.serialized(submission.tenantId, () => this.admit(submission));
    if (!admitted.fresh) return admitted.job;
    const { job, row } = admitted;
    if (this.options.kafka) {
      try {
        await this.publish(this.options.kafka, job);
      } catch (error) {
        this.log.warn({ err: error, download: job.id }, 'download request could not be published');
        await this.transition(job, { status: 'failed', error: 'could not be queued: Kafka unreachable' }).catch(() => undefined);
        await this.store.decideSubmission(job.tenantId, { ...row, version: row.version + 1 }, 'withdrawn', job.id).catch(() => undefined);
        throw new DownloadsUnavailableError(
          error instanceof PublishTimeoutError
            ? `downloads cannot be queued now: Kafka did not take the job within ${error.timeoutMs} ms; retry later`
            : 'downloads cannot be queued now: Kafka cannot be reached; retry later',
        );
      }
      return job;
    }
    this.queue.push(job);
    this.pump();
    return job;
  }

  /** Runs `work` after the tenant's earlier submissions in this process settled. */
  private serialized<T>(tenantId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.submitting.get(tenantId) ?? Promise.resolve();
    const result = previous.then(work);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.submitting.set(tenantId, tail);
    void tail.then(() => {
      if (this.submitting.get(tenantId) === tail) this.submitting.delete(tenantId);
    });
    return result;
  }

  private async admit(
    submission: DownloadSubmission,
  ): Promise<{ fresh: false; job: DownloadJob } | { fresh: true; job: DownloadJob; row: DownloadSubmissionRow }> {
    const { tenantId } = submission;
    const same = await this.store.findSame(tenantId, submission.export, submission.fromMs, submission.toMs, submission.filters);
    if (same) return { fresh: false, job: this.withProgress(same) };
    const waiting = this.options.kafka
      ? await this.store.countWithStatus(tenantId, 'queued')
      : this.queue.filter((job) => job.tenantId === tenantId).length;
    if (waiting >= this.maxQueuedPerTenant) {
      throw new TooManyDownloadsError(
        `${waiting} downloads are already waiting; at most ${this.maxQueuedPerTenant} may wait at once — retry when some are ready`,
        60,
      );
    }
    await this.checkStoredBytes(tenantId);
    const perHour = this.options.maxJobsPerHourPerTenant;
    if (perHour !== undefined) {
      // Past the quota already: refused without recording anything.
      const { count, oldestMs } = await this.store.acceptedSubmissions(tenantId, HOUR_MS);
      if (count >= perHour) throw hourlyLimit(count, perHour, oldestMs);
    }
    const id = randomUUID();
    await this.store.recordSubmission(tenantId, id, requestKey(submission.export, submission.fromMs, submission.toMs, submission.filters));
    let row: DownloadSubmissionRow | undefined;
    try {
      const rows = await this.store.submissions(tenantId, HOUR_MS);
      row = rows.find((candidate) => candidate.id === id);
      const outcome = admission(rows, id, perHour);
      if (outcome.kind === 'refused') {
        await this.store.decideSubmission(tenantId, row!, 'refused', '');
        throw hourlyLimit(outcome.accepted, perHour!, outcome.oldestMs);
      }
      if (outcome.kind === 'duplicate') {
        await this.store.decideSubmission(tenantId, row!, 'duplicate', outcome.jobId);
        return { fresh: false, job: await this.jobOf(tenantId, outcome.jobId, outcome.pending) };
      }
      const now = Date.now();
      const job: DownloadJob = {
        id,
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
      // The job first: whoever reads the submission as accepted finds its job.
      await this.store.save(job);
      await this.store.decideSubmission(tenantId, row!, 'accepted', id);
      this.emit('job', job);
      return { fresh: true, job, row: { ...row!, version: row!.version + 1, decision: 'accepted', jobId: id } };
    } catch (error) {
      if (!(error instanceof TooManyDownloadsError) && row && row.decision === '') {
        // Not decided: withdrawn, so that it holds no place in the quota.
        await this.store.decideSubmission(tenantId, { ...row, version: row.version + 1 }, 'withdrawn', '').catch(() => undefined);
      }
      throw error;
    }
  }

  /**
   * The job a duplicate submission is answered with. When it is another replica's submission
   * being decided now, waits (briefly) for that decision and answers as it was answered.
   */
  private async jobOf(tenantId: string, jobId: string, pending: boolean): Promise<DownloadJob> {
    const deadline = Date.now() + DUPLICATE_WAIT_MS;
    while (pending) {
      const [other] = await this.store.submissions(tenantId, HOUR_MS, jobId);
      if (other?.decision === 'accepted') break;
      if (other?.decision === 'refused') {
        const { count, oldestMs } = await this.store.acceptedSubmissions(tenantId, HOUR_MS);
        throw hourlyLimit(count, this.options.maxJobsPerHourPerTenant ?? count, oldestMs);
      }
      if (!other || other.decision !== '' || Date.now() > deadline) {
        throw new DownloadsUnavailableError('an identical download could not be queued just now; retry later');
      }
      await sleep(20);
    }
    const job = await this.store.get(tenantId, jobId);
    if (!job) throw new DownloadsUnavailableError('an identical download could not be queued just now; retry later');
    return this.withProgress(job);
  }

  /** Hands the job to Kafka; PublishTimeoutError when Kafka did not acknowledge it within the publish timeout. */
  private async publish(options: DownloadKafkaOptions, job: DownloadJob): Promise<void> {
    const timeoutMs = options.publishTimeoutMs ?? DEFAULT_PUBLISH_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new PublishTimeoutError(timeoutMs)), timeoutMs);
    });
    const sent = this.send(options, job);
    // A send that ends after the timeout is only logged (its job is failed and withdrawn by then; a worker skips it).
    sent.catch(() => undefined);
    try {
      await Promise.race([sent, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async send(options: DownloadKafkaOptions, job: DownloadJob): Promise<void> {
    this.producing ??= (async () => {
      await ensureRequestsTopic(options);
      const producer = options.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      this.producer = producer;
      return producer;
    })().catch((error: Error) => {
      this.producing = undefined;
      throw error;
    });
    const producer = await this.producing;
    await producer.send({
      topic: options.topic,
      acks: -1,
      messages: [{ key: job.tenantId, value: JSON.stringify({ id: job.id, tenantId: job.tenantId }) }],
    });
  }

  private async checkStoredBytes(tenantId: string): Promise<void> {
    const maxBytes = this.options.maxStoredBytesPerTenant;
    if (maxBytes === undefined) return;
    const usage = await this.store.usage(tenantId, Date.now() - HOUR_MS);
    if (usage.storedBytes >= maxBytes) {
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
  async openFile(tenantId: string, id: string): Promise<{ job: DownloadJob; stream: NodeJS.ReadableStream } | undefined> {
    const job = await this.store.get(tenantId, id);
    if (!job || job.status !== 'ready') return undefined;
    const stream = await this.storage.open(job.tenantId, job.id);
    return stream && { job, stream };
  }

  /** Deletes the files of jobs ready for longer than the TTL (as of `nowMs`) and marks them expired. */
  sweep(nowMs = Date.now()): Promise<number> {
    this.sweeping ??= (async () => {
      let expired = 0;
      for (const job of await this.store.readyBefore(nowMs - this.ttlMs)) {
        await this.storage.remove(job.tenantId, job.id);
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

  /**
   * Writes the next version of `job`; retried a few times, for a state must not be lost to a hiccup.
   * With `expect`, the write is fenced: it is refused (SupersededError) when the job's latest
   * version is no longer `expect` (a claim), or (a run's later writes) belongs to another run or is
   * final. The version itself fences too (see nextVersion), for a write racing another run's.
   */
  private async transition(
    job: DownloadJob,
    changes: Partial<DownloadJob>,
    fence?: { expect?: DownloadJob; run?: DownloadJob },
  ): Promise<DownloadJob> {
    if (this.crashed) throw new Error('download worker crashed (simulated): no state is written');
    if (fence) await this.checkFence(job, fence);
    const next: DownloadJob = { ...job, ...changes };
    next.updatedAt = Date.now();
    next.version = nextVersion(job, next);
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

  /** Throws SupersededError when the job changed under a claim, or when the run `run` is no longer the job's current one. */
  private async checkFence(job: DownloadJob, fence: { expect?: DownloadJob; run?: DownloadJob }): Promise<void> {
    const current = await this.store.get(job.tenantId, job.id);
    if (!current) return;
    if (fence.expect && current.version !== fence.expect.version) {
      throw new SupersededError(`download ${job.id} changed meanwhile (now ${current.status}, run ${current.attempt ?? 0})`);
    }
    if (fence.run && superseded(current, fence.run)) {
      throw new SupersededError(
        `download ${job.id} is ${current.status} by run ${current.attempt ?? 0} of ${current.owner || 'nobody'}; this was run ${fence.run.attempt ?? 0}`,
      );
    }
  }

  /**
   * Records `progress` as a new version of the running job every `progressEveryMs` (and at least
   * every third of the lease, which the write renews), one record at a time; stop() waits for the
   * one in flight and returns the job's latest version, so that the next state change gets a
   * higher one. Each tick first checks that this run is still the job's current one; when it is
   * not, `controller` is aborted with a SupersededError (the run stops and writes nothing more).
   * A failed record is only logged: the next one may work.
   */
  private recordProgress(job: DownloadJob, progress: ExportProgress, controller: AbortController): { stop(): Promise<DownloadJob> } {
    let latest = job;
    let inFlight: Promise<void> = Promise.resolve();
    const timer = setInterval(() => {
      inFlight = inFlight.then(async () => {
        if (this.crashed || controller.signal.aborted) return;
        const unchanged = progress.rows === latest.rows && progress.bytes === latest.bytes;
        if (unchanged && Date.now() - latest.updatedAt < this.leaseMs / 3) return;
        try {
          latest = await this.writeProgress(latest, job, progress);
          this.emit('progress', latest);
        } catch (error) {
          if (error instanceof SupersededError) {
            this.log.warn({ download: job.id, attempt: job.attempt, reason: error.message }, 'download run superseded; stopping it');
            controller.abort(error);
            return;
          }
          this.log.warn({ err: error, download: job.id }, 'could not record the progress of a download');
        }
      });
    }, this.options.progressEveryMs ?? 2000);
    timer.unref();
    return {
      stop: async () => {
        clearInterval(timer);
        await inFlight;
        return latest;
      },
    };
  }

  private async writeProgress(latest: DownloadJob, run: DownloadJob, progress: ExportProgress): Promise<DownloadJob> {
    await this.checkFence(latest, { run });
    const next: DownloadJob = { ...latest, rows: progress.rows, bytes: progress.bytes, updatedAt: Date.now() };
    next.version = nextVersion(latest, next);
    await this.store.save(next);
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
    const entry: RunningJob = { job, controller: new AbortController(), done: Promise.resolve('done') };
    this.running.set(job.id, entry);
    entry.done = this.run(entry)
      .catch((error: Error) => {
        this.log.error({ err: error, download: job.id }, 'download job could not record its state');
        return 'done' as const;
      })
      .finally(() => {
        this.running.delete(job.id);
        this.pump();
      });
  }

  /** Claims the job (a new run of it) and runs it to ready or failed, every write fenced by the run. */
  private async run(entry: RunningJob): Promise<RunOutcome> {
    const { controller } = entry;
    let job: DownloadJob;
    try {
      job = await this.transition(
        entry.job,
        { status: 'running', attempt: (entry.job.attempt ?? 0) + 1, owner: this.workerId },
        { expect: entry.expected ?? entry.job },
      );
    } catch (error) {
      if (error instanceof SupersededError) {
        this.log.info({ download: entry.job.id, reason: error.message }, 'download job claimed by another worker');
        return 'superseded';
      }
      this.log.warn({ err: error, download: entry.job.id }, 'could not start a download job; retrying');
      // With Kafka the message comes again (its offset is not committed); here the job is still queued in the table.
      if (!this.options.kafka && this.started) {
        this.queue.unshift(entry.job);
        this.retryTimer = setTimeout(() => this.pump(), 2000);
      }
      return 'unclaimed';
    }
    entry.job = job;
    const runOf = job;
    const started = performance.now();
    try {
      const opened = await openExport(this.options.clickhouse, exportRequest(job), {
        signal: controller.signal,
        pageRows: this.options.pageRows,
      });
      entry.progress = opened.progress;
      const recording = this.recordProgress(job, opened.progress, controller);
      let size: number;
      try {
        size = await this.storage.write(job.tenantId, job.id, opened.stream, controller.signal);
      } finally {
        job = await recording.stop();
      }
      if (this.crashed) return 'done';
      controller.signal.throwIfAborted();
      await this.transition(
        job,
        { status: 'ready', rows: opened.progress.rows, bytes: size, file: this.storage.locator(job.tenantId, job.id), error: '' },
        { run: runOf },
      );
      this.finished?.inc({ status: 'ready' });
      this.log.info(
        { download: job.id, export: job.export, rows: opened.progress.rows, bytes: size, ms: Math.round(performance.now() - started) },
        'download ready',
      );
      return 'done';
    } catch (error) {
      if (this.crashed) return 'done';
      try {
        if (error instanceof SupersededError || controller.signal.reason instanceof SupersededError) {
          this.log.info({ download: job.id, attempt: runOf.attempt }, 'download run superseded; its result dropped');
          return 'done';
        }
        if (controller.signal.aborted) {
          // Abandoned by stop(): queued again, so the next start runs it from scratch.
          await this.transition(job, { status: 'queued', rows: 0, bytes: 0 }, { run: runOf });
          return 'done';
        }
        this.log.warn({ err: error, download: job.id }, 'download failed');
        await this.transition(job, { status: 'failed', error: reason(error), rows: 0, bytes: 0 }, { run: runOf });
        this.finished?.inc({ status: 'failed' });
        return 'done';
      } catch (failure) {
        if (failure instanceof SupersededError) {
          this.log.info({ download: job.id, reason: failure.message }, 'download run superseded; its end not recorded');
          return 'done';
        }
        throw failure;
      }
    }
  }
}
