import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import type { Logger } from '../platform/logger.js';
import { admission } from './download-admission.js';
import { DownloadsUnavailableError, TooManyDownloadsError } from './download-errors.js';
import { PublishTimeoutError, type DownloadRequestPublisher } from './download-requests.js';
import { requestKey, type DownloadJob, type DownloadStore } from './download-store.js';
import type { DownloadSubmissionRow, DownloadSubmissionStore } from './download-submission-store.js';
import type { DownloadTransitions } from './download-transitions.js';

/** What a request asks for; the service adds the id, status and progress. */
export type DownloadSubmission = Pick<DownloadJob, 'tenantId' | 'userId' | 'export' | 'fromMs' | 'toMs' | 'filters'>;

export interface DownloadSubmissionsOptions {
  store: DownloadStore;
  submissionStore: DownloadSubmissionStore;
  transitions: DownloadTransitions;
  publisher: DownloadRequestPublisher;
  events: EventEmitter;
  logger: Logger;
  ttlMs: number;
  /** Queued jobs one tenant may have waiting; more are refused. */
  maxQueuedPerTenant: number;
  /** Jobs one tenant may queue per rolling hour (undefined: unlimited). */
  maxJobsPerHourPerTenant?: number;
  /** Bytes one tenant's running and ready files may hold (undefined: unlimited). */
  maxStoredBytesPerTenant?: number;
  /** A job as this process shows it (with the rows written so far when it runs here). */
  withProgress: (job: DownloadJob) => DownloadJob;
}

const HOUR_MS = 3_600_000;
const secondsUntil = (ms: number) => Math.max(1, Math.ceil((ms - Date.now()) / 1000));
/** How long a duplicate waits for another replica's decision on the identical submission. */
const DUPLICATE_WAIT_MS = 10_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function hourlyLimit(count: number, perHour: number, oldestMs: number | undefined): TooManyDownloadsError {
  const freesAt = (oldestMs ?? Date.now()) + HOUR_MS;
  return new TooManyDownloadsError(
    `${count} downloads were queued in the last hour; at most ${perHour} per hour — the next one can be queued at ${new Date(freesAt).toISOString()}`,
    secondsUntil(freesAt),
  );
}

/**
 * Admission of download requests: queues a download, or answers with the tenant's queued, running
 * or ready job of the same export, range and filters. Refuses (TooManyDownloadsError) past the
 * tenant's limits: jobs waiting, jobs queued in the last hour, bytes of files kept. The decision is
 * atomic per tenant: one at a time per tenant in this process, and across replicas by the
 * submissions table (see download-admission.ts). An accepted job is published to the requests
 * topic; one that could not be is withdrawn (failed, and not counted against the quota) and
 * DownloadsUnavailableError thrown.
 */
export class DownloadSubmissions {
  /** Per tenant: the end of its latest submit in this process (submits of one tenant run one at a time). */
  private readonly submitting = new Map<string, Promise<void>>();

  constructor(private readonly options: DownloadSubmissionsOptions) {}

  async submit(submission: DownloadSubmission): Promise<DownloadJob> {
    const admitted = await this.serialized(submission.tenantId, () => this.admit(submission));
    if (!admitted.fresh) return admitted.job;
    const { job, row } = admitted;
    const { submissionStore, transitions } = this.options;
    try {
      await this.options.publisher.publish(job);
    } catch (error) {
      this.options.logger.warn({ err: error, download: job.id }, 'download request could not be published');
      await transitions.write(job, { status: 'failed', error: 'could not be queued: Kafka unreachable' }).catch(() => undefined);
      await submissionStore
        .decideSubmission(job.tenantId, { ...row, version: row.version + 1 }, 'withdrawn', job.id)
        .catch(() => undefined);
      throw new DownloadsUnavailableError(
        error instanceof PublishTimeoutError
          ? `downloads cannot be queued now: Kafka did not take the job within ${error.timeoutMs} ms; retry later`
          : 'downloads cannot be queued now: Kafka cannot be reached; retry later',
      );
    }
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
    const { store, submissionStore, maxQueuedPerTenant } = this.options;
    const { tenantId } = submission;
    const same = await store.findSame(tenantId, submission.export, submission.fromMs, submission.toMs, submission.filters);
    if (same) return { fresh: false, job: this.options.withProgress(same) };
    const waiting = await store.countWithStatus(tenantId, 'queued');
    if (waiting >= maxQueuedPerTenant) {
      throw new TooManyDownloadsError(
        `${waiting} downloads are already waiting; at most ${maxQueuedPerTenant} may wait at once — retry when some are ready`,
        60,
      );
    }
    await this.checkStoredBytes(tenantId);
    const perHour = this.options.maxJobsPerHourPerTenant;
    if (perHour !== undefined) {
      // Past the quota already: refused without recording anything.
      const { count, oldestMs } = await submissionStore.acceptedSubmissions(tenantId, HOUR_MS);
      if (count >= perHour) throw hourlyLimit(count, perHour, oldestMs);
    }
    const id = randomUUID();
    await submissionStore.recordSubmission(
      tenantId,
      id,
      requestKey(submission.export, submission.fromMs, submission.toMs, submission.filters),
    );
    let row: DownloadSubmissionRow | undefined;
    try {
      const rows = await submissionStore.submissions(tenantId, HOUR_MS);
      row = rows.find((candidate) => candidate.id === id);
      const outcome = admission(rows, id, perHour);
      if (outcome.kind === 'refused') {
        await submissionStore.decideSubmission(tenantId, row!, 'refused', '');
        throw hourlyLimit(outcome.accepted, perHour!, outcome.oldestMs);
      }
      if (outcome.kind === 'duplicate') {
        await submissionStore.decideSubmission(tenantId, row!, 'duplicate', outcome.jobId);
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
      await store.save(job);
      await submissionStore.decideSubmission(tenantId, row!, 'accepted', id);
      this.options.events.emit('job', job);
      return { fresh: true, job, row: { ...row!, version: row!.version + 1, decision: 'accepted', jobId: id } };
    } catch (error) {
      if (!(error instanceof TooManyDownloadsError) && row && row.decision === '') {
        // Not decided: withdrawn, so that it holds no place in the quota.
        await submissionStore.decideSubmission(tenantId, { ...row, version: row.version + 1 }, 'withdrawn', '').catch(() => undefined);
      }
      throw error;
    }
  }

  /**
   * The job a duplicate submission is answered with. When it is another replica's submission
   * being decided now, waits (briefly) for that decision and answers as it was answered.
   */
  private async jobOf(tenantId: string, jobId: string, pending: boolean): Promise<DownloadJob> {
    const { store, submissionStore } = this.options;
    const deadline = Date.now() + DUPLICATE_WAIT_MS;
    while (pending) {
      const [other] = await submissionStore.submissions(tenantId, HOUR_MS, jobId);
      if (other?.decision === 'accepted') break;
      if (other?.decision === 'refused') {
        const { count, oldestMs } = await submissionStore.acceptedSubmissions(tenantId, HOUR_MS);
        throw hourlyLimit(count, this.options.maxJobsPerHourPerTenant ?? count, oldestMs);
      }
      if (!other || other.decision !== '' || Date.now() > deadline) {
        throw new DownloadsUnavailableError('an identical download could not be queued just now; retry later');
      }
      await sleep(20);
    }
    const job = await store.get(tenantId, jobId);
    if (!job) throw new DownloadsUnavailableError('an identical download could not be queued just now; retry later');
    return this.options.withProgress(job);
  }

  private async checkStoredBytes(tenantId: string): Promise<void> {
    const maxBytes = this.options.maxStoredBytesPerTenant;
    if (maxBytes === undefined) return;
    const usage = await this.options.store.usage(tenantId, Date.now() - HOUR_MS);
    if (usage.storedBytes >= maxBytes) {
      const freesAt = usage.oldestReadyMs === undefined ? undefined : usage.oldestReadyMs + this.options.ttlMs;
      throw new TooManyDownloadsError(
        `the tenant's ready downloads hold ${usage.storedBytes} bytes; at most ${maxBytes} may be kept — ` +
          (freesAt === undefined
            ? 'space frees when the running downloads finish and expire'
            : `space frees when the oldest expires at ${new Date(freesAt).toISOString()}`),
        freesAt === undefined ? 60 : secondsUntil(freesAt),
      );
    }
  }
}
