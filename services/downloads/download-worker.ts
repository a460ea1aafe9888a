import type { EventEmitter } from 'node:events';
import type { Consumer } from 'kafkajs';
import type { Logger } from '../platform/logger.js';
import type { DownloadJobRunner, RunningJob, RunOutcome } from './download-job-runner.js';
import { ensureRequestsTopic, parseRequest, type DownloadKafkaOptions } from './download-requests.js';
import type { DownloadStorage } from './download-storage.js';
import type { DownloadJob, DownloadStore } from './download-store.js';
import { SupersededError, type DownloadTransitions } from './download-transitions.js';

export const RESTARTED_NOTE = 'interrupted by a restart; running it again';
export const INTERRUPTED_TWICE = 'interrupted by a restart twice; not run a third time — ask for this download again';

export interface DownloadWorkerOptions {
  kafka: DownloadKafkaOptions;
  store: DownloadStore;
  storage: DownloadStorage;
  transitions: DownloadTransitions;
  runner: DownloadJobRunner;
  events: EventEmitter;
  logger: Logger;
  workerId: string;
  leaseMs: number;
  /** Partitions (so jobs) run at once. */
  concurrency: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The Kafka side of the workers: a member of the consumer group DOWNLOADS_GROUP_ID that runs each
 * request's job inside eachMessage, heartbeating meanwhile; the offset is committed only once the
 * job is ready or failed. A worker that dies mid-job leaves it uncommitted: whoever gets the
 * partition runs the job again (it reads `running`, notes the restart) and writes the same file,
 * after aborting the dead worker's multipart upload; a job interrupted that way twice fails with
 * the reason instead of being tried a third time. Messages of one partition run one after the
 * other, and one tenant's jobs all go to one partition: one tenant never has more than one job
 * running in the whole deployment. A worker runs at most `concurrency` partitions at once.
 *
 * Leases: a running job's row is renewed by its run (see DownloadJobRunner); one not renewed for
 * `leaseMs` is taken to be abandoned. A new owner of the partition waits while the job's lease
 * holds (the old owner, alive and busy, missed a rebalance), then runs it again.
 *
 * Emits 'assigned' (partitions) when it joins its group and 'waiting' (DownloadJob) when it waits
 * for another worker's leased run.
 */
export class DownloadWorker {
  private consumer: Consumer | undefined;
  private started = false;
  private readonly running = new Map<string, { entry: RunningJob; done: Promise<RunOutcome> }>();
  private readonly log: Logger;

  constructor(private readonly options: DownloadWorkerOptions) {
    this.log = options.logger;
  }

  /** Removes leftovers of a stopped process from the storage, joins the group and starts taking jobs. */
  async start(): Promise<void> {
    const { kafka: options, storage } = this.options;
    this.started = true;
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
      this.options.events.emit('assigned', partitions);
    });
    await consumer.connect();
    // From the beginning when the group has no offset yet: a job queued before any worker joined still runs.
    await consumer.subscribe({ topics: [options.topic], fromBeginning: true });
    await consumer.run({
      partitionsConsumedConcurrently: this.options.concurrency,
      eachMessage: async (payload) => {
        const { message } = payload;
        if (!message.value) return;
        const request = parseRequest(message.value);
        if (request === 'notJson') {
          this.log.warn({ offset: message.offset }, 'download request that is not JSON skipped');
          return;
        }
        if (!request) return;
        await this.runAssigned(request.tenantId, request.id, () => payload.heartbeat());
      },
    });
    this.log.info({ storage: storage.description, topic: options.topic, abortedUploads: leftovers }, 'download worker started');
  }

  /** Stops taking jobs; running ones are abandoned (queued again for the partition's next owner) and awaited. */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    const running = [...this.running.values()];
    for (const { entry } of running) entry.controller.abort();
    await Promise.allSettled(running.map(({ done }) => done));
    await this.consumer?.disconnect().catch(() => undefined);
    this.log.info({ abandoned: running.length }, 'download worker stopped');
  }

  /** Ids and tenants of the jobs running now. */
  runningJobs(): { id: string; tenantId: string }[] {
    return [...this.running.values()].map(({ entry }) => ({ id: entry.job.id, tenantId: entry.job.tenantId }));
  }

  /** How many jobs run now. */
  get size(): number {
    return this.running.size;
  }

  /** The job with the rows and bytes written so far, when this worker runs it. */
  withProgress(job: DownloadJob): DownloadJob {
    const progress = this.running.get(job.id)?.entry.progress;
    return job.status === 'running' && progress ? { ...job, rows: progress.rows, bytes: progress.bytes } : job;
  }

  /** Leftovers of a stopped process removed; a store that cannot be reached now is only logged (readiness says so; jobs fail with the reason). */
  private async prepareStorage(): Promise<number> {
    const { storage } = this.options;
    try {
      return await storage.prepare();
    } catch (error) {
      this.log.warn({ err: error, storage: storage.description }, 'download storage could not be prepared');
      return 0;
    }
  }

  /**
   * Runs one job handed out by Kafka. Returns (the offset is committed) only once the job's state
   * is durably recorded as done: ready, failed or expired — by this worker or by another one, which
   * is waited for while it holds the job's lease. Throws (offset left uncommitted, the message is
   * delivered again) when the job could not be claimed or its end not recorded, or was abandoned.
   */
  private async runAssigned(tenantId: string, id: string, heartbeat: () => Promise<void>): Promise<void> {
    const { store, transitions, workerId, leaseMs } = this.options;
    if (!this.started) throw new Error('download worker stopping');
    const beat = setInterval(() => void heartbeat().catch(() => undefined), 1000);
    try {
      let waited = false;
      for (;;) {
        if (!this.started) throw new Error('download worker stopping');
        const job = await store.get(tenantId, id);
        if (!job || (job.status !== 'queued' && job.status !== 'running')) return; // done already (or expired)
        let claim = job;
        if (job.status === 'running') {
          const leased = Date.now() - job.updatedAt < leaseMs;
          if (job.owner !== workerId && leased) {
            // Another worker runs it and renews its lease (a rebalance moved the partition meanwhile): wait for its end.
            if (!waited) this.options.events.emit('waiting', job);
            waited = true;
            await sleep(Math.min(1000, leaseMs / 4));
            continue;
          }
          // Its worker stopped renewing the lease (or is this one, which no longer runs it): run it again.
          this.log.warn({ download: job.id, owner: job.owner, attempt: job.attempt }, 'download job left running; running it again');
          if (job.error === RESTARTED_NOTE) {
            try {
              const changes = { status: 'failed', error: INTERRUPTED_TWICE, rows: 0, bytes: 0, attempt: (job.attempt ?? 0) + 1 } as const;
              await transitions.write(job, { ...changes, owner: workerId }, { expect: job });
              return;
            } catch (error) {
              if (error instanceof SupersededError) continue;
              throw error;
            }
          }
          claim = { ...job, error: RESTARTED_NOTE, rows: 0, bytes: 0 };
        }
        const entry: RunningJob = { job: claim, expected: job, controller: new AbortController() };
        const done = this.options.runner.run(entry);
        this.running.set(job.id, { entry, done });
        let outcome: RunOutcome;
        try {
          outcome = await done;
        } finally {
          this.running.delete(job.id);
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
}
