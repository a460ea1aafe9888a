import type { Counter } from 'prom-client';
import { openExport, rawEventsFrom, type ExportProgress, type ExportRequest, type Precision } from '../reporting/index.js';
import type { ClickHouseClient } from '../platform/clickhouse.js';
import { messageOf } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import type { DownloadStorage } from './download-storage.js';
import type { DownloadJob } from './download-store.js';
import { SupersededError, type DownloadTransitions } from './download-transitions.js';

/** A job this process runs now. */
export interface RunningJob {
  job: DownloadJob;
  /** The version the claim expects to replace (the one read before it); default `job`. */
  expected?: DownloadJob;
  controller: AbortController;
  progress?: ExportProgress;
}

/** done: its end recorded (or dropped: superseded); unclaimed: the claim could not be written; superseded: another worker claimed it first. */
export type RunOutcome = 'done' | 'unclaimed' | 'superseded';

export interface DownloadJobRunnerOptions {
  clickhouse: ClickHouseClient;
  storage: DownloadStorage;
  transitions: DownloadTransitions;
  logger: Logger;
  /** This worker, as the owner of the runs it claims. */
  workerId: string;
  /** A run renews its lease at least every third of it (see DownloadServiceOptions.leaseMs). */
  leaseMs: number;
  /** How often the rows and bytes so far are recorded (default 2 s). */
  progressEveryMs?: number;
  /** Rows per page query where an export is read in keyset pages (a ClickHouse server). */
  pageRows?: number;
  /** RAW_RETENTION_DAYS (undefined: raw events are kept for ever). */
  rawRetentionDays?: number;
  /** sending_metrics_download_jobs_finished_total, by outcome. */
  finished?: Counter;
}

function exportRequest(job: DownloadJob): ExportRequest {
  return { kind: job.export, tenantId: job.tenantId, fromMs: job.fromMs, toMs: job.toMs, filters: job.filters };
}

/** The note of a ready metric table whose edges were widened to whole 15-minute buckets (never a silently rounded file). */
function precisionNote(precision: Precision): string {
  if (precision.edges === 'millisecond') return '';
  return `counted from ${precision.from} to ${precision.to}: raw events before the retention cut-off are no longer kept, so the edges are whole 15-minute buckets`;
}

function reason(error: unknown): string {
  const message = messageOf(error);
  return message.length > 500 ? `${message.slice(0, 500)}…` : message;
}

/**
 * Runs one job: claims it (a new run, owned by this worker), writes the export to its file and
 * records it ready — or failed with the reason, or queued again when the run was abandoned
 * (its controller aborted by the worker's stop). Every write after the claim is fenced by the run,
 * so that a run another worker took over writes nothing that counts.
 */
export class DownloadJobRunner {
  private readonly log: Logger;

  constructor(private readonly options: DownloadJobRunnerOptions) {
    this.log = options.logger;
  }

  async run(entry: RunningJob): Promise<RunOutcome> {
    const { controller } = entry;
    const { transitions, storage } = this.options;
    let job: DownloadJob;
    try {
      job = await transitions.write(
        entry.job,
        { status: 'running', attempt: (entry.job.attempt ?? 0) + 1, owner: this.options.workerId },
        { expect: entry.expected ?? entry.job },
      );
    } catch (error) {
      if (error instanceof SupersededError) {
        this.log.info({ download: entry.job.id, reason: error.message }, 'download job claimed by another worker');
        return 'superseded';
      }
      // The job's message comes again (its offset is not committed).
      this.log.warn({ err: error, download: entry.job.id }, 'could not start a download job; retrying');
      return 'unclaimed';
    }
    entry.job = job;
    const runOf = job;
    const started = performance.now();
    try {
      const opened = await openExport(this.options.clickhouse, exportRequest(job), {
        signal: controller.signal,
        pageRows: this.options.pageRows,
        rawEventsFromMs: rawEventsFrom(Date.now(), this.options.rawRetentionDays),
      });
      entry.progress = opened.progress;
      const recording = this.recordProgress(job, opened.progress, controller);
      let size: number;
      try {
        size = await storage.write(job.tenantId, job.id, opened.stream, controller.signal);
      } finally {
        job = await recording.stop();
      }
      controller.signal.throwIfAborted();
      await transitions.write(
        job,
        {
          status: 'ready',
          rows: opened.progress.rows,
          bytes: size,
          file: storage.locator(job.tenantId, job.id),
          error: opened.precision ? precisionNote(opened.precision) : '',
        },
        { run: runOf },
      );
      this.options.finished?.inc({ status: 'ready' });
      this.log.info(
        { download: job.id, export: job.export, rows: opened.progress.rows, bytes: size, ms: Math.round(performance.now() - started) },
        'download ready',
      );
      return 'done';
    } catch (error) {
      try {
        if (error instanceof SupersededError || controller.signal.reason instanceof SupersededError) {
          this.log.info({ download: job.id, attempt: runOf.attempt }, 'download run superseded; its result dropped');
          return 'done';
        }
        if (controller.signal.aborted) {
          // Abandoned by stop(): queued again, so that the next owner of its message runs it from scratch.
          await transitions.write(job, { status: 'queued', rows: 0, bytes: 0 }, { run: runOf });
          return 'done';
        }
        this.log.warn({ err: error, download: job.id }, 'download failed');
        await transitions.write(job, { status: 'failed', error: reason(error), rows: 0, bytes: 0 }, { run: runOf });
        this.options.finished?.inc({ status: 'failed' });
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
        if (controller.signal.aborted) return;
        const unchanged = progress.rows === latest.rows && progress.bytes === latest.bytes;
        if (unchanged && Date.now() - latest.updatedAt < this.options.leaseMs / 3) return;
        try {
          latest = await this.options.transitions.progress(latest, job, progress);
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
}
