import type { Logger } from '../platform/logger.js';
import type { DownloadStorage } from './download-storage.js';
import type { DownloadStore } from './download-store.js';
import type { DownloadTransitions } from './download-transitions.js';

export interface DownloadSweepOptions {
  store: DownloadStore;
  storage: DownloadStorage;
  transitions: DownloadTransitions;
  logger: Logger;
  ttlMs: number;
  /** How often expired files are swept (default 10 minutes). */
  intervalMs?: number;
}

/** The expiry sweep: deletes the files of jobs ready for longer than the TTL and marks them expired. */
export class DownloadSweep {
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<number> | undefined;

  constructor(private readonly options: DownloadSweepOptions) {}

  /** Sweeps now and then every interval. */
  start(): void {
    const sweepLogged = () => void this.sweep().catch((error: Error) => this.options.logger.error({ err: error }, 'download sweep failed'));
    this.timer = setInterval(sweepLogged, this.options.intervalMs ?? 600_000);
    this.timer.unref();
    sweepLogged();
  }

  /** No more sweeps; the one in progress is awaited. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.sweeping?.catch(() => undefined);
  }

  /** Sweeps as of `nowMs`; returns how many jobs expired (one sweep at a time: a second call joins the first). */
  sweep(nowMs = Date.now()): Promise<number> {
    const { store, storage, transitions, ttlMs, logger } = this.options;
    this.sweeping ??= (async () => {
      let expired = 0;
      for (const job of await store.readyBefore(nowMs - ttlMs)) {
        await storage.remove(job.tenantId, job.id);
        await transitions.write(job, { status: 'expired', file: '' });
        expired += 1;
      }
      if (expired > 0) logger.info({ expired }, 'expired download files deleted');
      return expired;
    })().finally(() => {
      this.sweeping = undefined;
    });
    return this.sweeping;
  }
}
