/** One look at a partition: the time taken before its high watermark was asked for, and that high watermark. */
interface Observation {
  at: number;
  high: number;
}

interface PartitionState {
  /** When this process first observed the partition (since it last got it). */
  firstObservedAt: number;
  /** The latest observation whose high watermark the committed offset has reached; undefined: none yet. */
  caughtUpAt: number | undefined;
  /** Observations after `caughtUpAt` the committed offset has not reached, strictly increasing in time and high watermark. */
  pending: Observation[];
}

/**
 * Per partition, how far the ingest has counted, in time: the in-memory side of `freshness`
 * (the API reads the same rule from the `ingest_progress` table).
 *
 * The rule: an observation at time T saw high watermark H (T taken before asking, so everything
 * published before T has an offset below H). The ingest commits only what it has written, so once
 * the committed offset is ≥ H, everything published to the partition before T is counted. The
 * partition's counted-through time is the latest such T.
 *
 * Only what can still matter is kept: the latest caught-up point and the observations after it
 * that the committed offset has not reached. An observation is dropped as soon as a later one has
 * a high watermark no larger (the later one is the better claim whenever both are reached), and
 * when more than `maxPending` remain, every other middle one is dropped; dropping an observation
 * can only make the answer older (more conservative), never claim more.
 */
export class CountedThroughTracker {
  private readonly partitions = new Map<string, PartitionState>();

  constructor(private readonly maxPending = 1000) {}

  /**
   * Records one observation of a partition: `observedAt` taken before its high watermark `high`
   * was read, and the committed offset `committed` read after (the low watermark when the group
   * has committed nothing yet).
   */
  observe(key: string, observedAt: number, high: number, committed: number): void {
    let state = this.partitions.get(key);
    if (!state) {
      state = { firstObservedAt: observedAt, caughtUpAt: undefined, pending: [] };
      this.partitions.set(key, state);
    }
    const { pending } = state;
    // An earlier observation with a high watermark at least as large is never the better claim.
    while (pending.length > 0 && pending[pending.length - 1]!.high >= high) pending.pop();
    pending.push({ at: observedAt, high });
    // Pending is increasing in high watermark: the reached ones are a prefix, its last the latest.
    let reached = -1;
    while (reached + 1 < pending.length && pending[reached + 1]!.high <= committed) reached += 1;
    if (reached >= 0) {
      const at = pending[reached]!.at;
      // A committed offset moved backwards (an operator's reset) does not take back what was counted.
      state.caughtUpAt = Math.max(state.caughtUpAt ?? at, at);
      pending.splice(0, reached + 1);
    }
    if (pending.length > this.maxPending) {
      // Keep the first and the last; drop every other one in between.
      state.pending = pending.filter((_, i) => i === 0 || i === pending.length - 1 || i % 2 === 0);
    }
  }

  /** Forgets the partitions not in `keys` (no longer owned); one owned again starts afresh. */
  retain(keys: ReadonlySet<string>): void {
    for (const key of this.partitions.keys()) if (!keys.has(key)) this.partitions.delete(key);
  }

  keys(): string[] {
    return [...this.partitions.keys()];
  }

  /** The latest time before which everything published to the partition is counted; undefined when none is known. */
  countedThrough(key: string): number | undefined {
    return this.partitions.get(key)?.caughtUpAt;
  }

  /**
   * Seconds from the partition's counted-through time to `now` (never negative). When this process
   * has seen no caught-up point of the partition yet, the seconds since its first observation of
   * it: a lower bound (some record published before that observation is not counted yet). Undefined
   * for a partition never observed.
   */
  lagSeconds(key: string, now: number): number | undefined {
    const state = this.partitions.get(key);
    if (!state) return undefined;
    return Math.max(0, now - (state.caughtUpAt ?? state.firstObservedAt)) / 1000;
  }

  /** Observations kept for a partition (for tests of the pruning). */
  pendingCount(key: string): number {
    return this.partitions.get(key)?.pending.length ?? 0;
  }
}
