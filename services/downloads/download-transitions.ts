import type { EventEmitter } from 'node:events';
import type { ExportProgress } from '../reporting/index.js';
import type { DownloadJob, DownloadStore } from './download-store.js';

/** The write belongs to a run of the job that is no longer its current one, or the job changed under a claim. */
export class SupersededError extends Error {
  override name = 'SupersededError';
}

/**
 * Which writes a state change must not overwrite:
 * - `expect`: a claim; refused when the job's latest version is no longer this one;
 * - `run`: a run's later writes; refused when the latest version belongs to another run or owner, or is final.
 */
export interface Fence {
  expect?: DownloadJob;
  run?: DownloadJob;
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every write of a job's state: a new version in the `downloads` table, fenced, and announced ('job', 'progress'). */
export class DownloadTransitions {
  constructor(
    private readonly store: DownloadStore,
    private readonly events: EventEmitter,
  ) {}

  /**
   * Writes the next version of `job`; retried a few times, for a state must not be lost to a hiccup.
   * With a fence the write is refused (SupersededError) as the fence says. The version itself
   * fences too (see nextVersion), for a write racing another run's.
   */
  async write(job: DownloadJob, changes: Partial<DownloadJob>, fence?: Fence): Promise<DownloadJob> {
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
    this.events.emit('job', next);
    return next;
  }

  /** Records the rows and bytes so far of the run `run` as a new version after `latest` (once: a failed record is the caller's to retry). */
  async progress(latest: DownloadJob, run: DownloadJob, progress: ExportProgress): Promise<DownloadJob> {
    await this.checkFence(latest, { run });
    const next: DownloadJob = { ...latest, rows: progress.rows, bytes: progress.bytes, updatedAt: Date.now() };
    next.version = nextVersion(latest, next);
    await this.store.save(next);
    this.events.emit('progress', next);
    return next;
  }

  /** Throws SupersededError when the job changed under a claim, or when the run `run` is no longer the job's current one. */
  private async checkFence(job: DownloadJob, fence: Fence): Promise<void> {
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
}
