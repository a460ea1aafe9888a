/**
 * One partition's batches. Over 300 lines on purpose: the order that keeps counting exact (decode,
 * deduplicate, record the intent, write, mark written, commit — and abandoning before the write
 * when the partition is revoked) is checked in one place; the steps themselves are in steps/.
 */
import { reasonClass } from './steps/dead-letter.js';
import type { Logger } from '../platform/logger.js';
import type { BatchIntent } from './batch-intents.js';
import type { IngestMetrics } from './ingest-metrics.js';
import type { Outcome, SourceRecord } from './record.js';
import type { WritableEvent } from './steps/write.js';
import { messageOf } from '../platform/errors.js';

/** How long the decoding of fetched records runs before it lets other work on the JS thread through. */
const YIELD_AFTER_MS = 8;

export interface PartitionSteps {
  /**
   * Runs before a fetched batch is decoded (the writer schemas of its Confluent-framed records
   * are looked up); `wait` sleeps heartbeating, and false means it gave up because the worker
   * was revoked or is stopping.
   */
  prepare?(records: readonly SourceRecord[], wait: (ms: number) => Promise<void>, cancelled: () => boolean): Promise<boolean>;
  decode(record: SourceRecord): Outcome;
  deduplicate(outcome: Outcome): Outcome;
  recordIntent(intent: BatchIntent): Promise<void>;
  /** Publishes the letters; may say how many had to be truncated to fit the broker's limit. */
  deadLetter(letters: { record: SourceRecord; reason: string }[]): Promise<{ truncated: number } | void>;
  /**
   * Inserts the rows; may drop some whose eventId was already written from elsewhere (and say how
   * many, and which). `cancelled` is asked just before the insert starts: when true, nothing is
   * inserted and the answer says `abandoned`.
   */
  write(
    rows: WritableEvent[],
    token: string,
    cancelled: () => boolean,
  ): Promise<{ duplicates: number; droppedOffsets?: number[]; abandoned?: boolean } | void>;
  /** Records the offsets of the batch that became no row (dead letters, duplicates), before the commit. */
  recordSkipped?(skipped: { offset: number; kind: 'dead_letter' | 'duplicate' }[]): Promise<void>;
  /** Records that the partition is written through `lastOffset` (ingest_written), before the commit. */
  recordWritten?(lastOffset: number): Promise<void>;
  commit(lastOffset: number): Promise<void>;
  /** Called for each invalid/valid record; returns a reason to pause consumption. */
  guard(invalid: boolean): string | undefined;
}

export interface PartitionWorkerOptions {
  topic: string;
  partition: number;
  groupId: string;
  batchMaxRows: number;
  batchMaxMs: number;
  /** Ranges written before (by any process) and not yet committed: batches must be cut at them. */
  intents: BatchIntent[];
  /**
   * The partition is written through this offset (-1: nothing recorded): records at or below it
   * were counted by an earlier batch (a replay, records fetched again) and are skipped, their
   * offsets committed, never written again.
   */
  writtenThrough?: number;
  steps: PartitionSteps;
  metrics: IngestMetrics;
  logger: Logger;
  onWriteHealth(ok: boolean, detail?: string): void;
  onFatal(reason: string): void;
  /**
   * The guard says pause: the worker holds the record that tripped it (nothing at or after it is
   * written or committed) until the returned promise resolves (an operator resumed).
   */
  onGuardBreach(reason: string): Promise<void>;
}

/**
 * batch: collects one partition's records into batches bounded by rows and age, or cut exactly
 * at a previously recorded intent, then runs dead-letter → write → commit for each. Batches of
 * one partition are written strictly in order; a failing write is retried with backoff (and
 * nothing is committed past it) until it succeeds or the partition is revoked.
 */
export class PartitionWorker {
  private buffer: Outcome[] = [];
  private firstOffset = -1;
  private lastSeenOffset = -1;
  /** Records handed to add() whose processing has not finished yet. */
  private backlog = 0;
  private stopping = false;
  private dueCheckQueued = false;
  private startedAt = 0;
  private chain: Promise<void> = Promise.resolve();
  private revoked = false;
  /** The last record skipped as written before whose offset is not committed yet (-1: none). */
  private skippedThrough = -1;
  /** Records skipped as written before (logged when the worker stops skipping). */
  private skippedCount = 0;
  private heartbeat: () => Promise<void> = async () => {};
  private readonly pendingIntents: BatchIntent[];

  constructor(private readonly options: PartitionWorkerOptions) {
    this.pendingIntents = [...options.intents];
  }

  /**
   * Stops retries and drops what is buffered: the records come back to whoever owns the partition
   * next. A flush in flight stops before its next step: it inserts nothing it has not started to
   * insert, and commits nothing.
   */
  revoke(): void {
    this.revoked = true;
    this.buffer = [];
    this.firstOffset = -1;
  }

  /**
   * The revocation contract (before this member joins the group again, so before any other member
   * is given the partition): starts no new flush, abandons the one in flight if its insert has not
   * started, waits for it if it has (at most `timeoutMs`), and commits nothing. Resolves true when
   * nothing of this worker runs any more.
   */
  async join(timeoutMs: number): Promise<boolean> {
    this.revoke();
    let timer: NodeJS.Timeout | undefined;
    const settled = await Promise.race([
      this.chain.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    return settled;
  }

  get isRevoked(): boolean {
    return this.revoked;
  }

  /**
   * Adds fetched records (in offset order). Decoding and writing happen on the worker's queue, so
   * the fetch loop can go on while a batch is written; the returned promise waits only when more
   * than two batches' worth of records are queued (backpressure on the fetch loop).
   */
  async add(records: SourceRecord[], heartbeat: () => Promise<void>): Promise<void> {
    this.heartbeat = heartbeat;
    this.backlog += records.length;
    void this.enqueue(async () => {
      try {
        await this.process(records);
      } finally {
        this.backlog -= records.length;
      }
    });
    while (this.backlog > 2 * this.options.batchMaxRows && !this.revoked) await this.chain;
  }

  private async process(records: SourceRecord[]): Promise<void> {
    const cancelled = () => this.revoked || this.stopping;
    if (this.options.steps.prepare) {
      const wait = (ms: number) => sleepWithHeartbeat(ms, this.heartbeat, cancelled);
      if (!(await this.options.steps.prepare(records, wait, cancelled))) return;
    }
    let sliceStarted = performance.now();
    for (let index = 0; index < records.length; index += 1) {
      const record = records[index]!;
      if (this.revoked || this.stopping) return;
      // Decoding a fetch of many records takes the JS thread for hundreds of milliseconds; the
      // engine's answers (an insert done, a lookup's rows) wait for it meanwhile, and so does the
      // engine's next statement. A pause every few milliseconds lets them through.
      if (index % 256 === 255 && performance.now() - sliceStarted >= YIELD_AFTER_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        sliceStarted = performance.now();
        if (this.revoked || this.stopping) return;
      }
      if (record.offset <= this.lastSeenOffset) continue; // fetched again after a seek or rebalance
      this.lastSeenOffset = record.offset;
      if (record.offset <= (this.options.writtenThrough ?? -1)) {
        // Counted by an earlier batch (the partition is written through a later offset): a replay
        // or records fetched again. Never written twice, whatever the age of the first write.
        this.skippedThrough = record.offset;
        this.skippedCount += 1;
        continue;
      }
      if (this.skippedThrough >= 0) await this.commitSkipped();
      const outcome = this.options.steps.deduplicate(this.options.steps.decode(record));
      const stop = this.options.steps.guard(outcome.kind === 'dead-letter');
      if (stop && !(await this.hold(stop))) return;
      const intent = this.currentIntent();
      if (intent && record.offset > intent.lastOffset && this.buffer.length > 0) await this.flush(intent);
      if (this.buffer.length === 0) {
        this.firstOffset = record.offset;
        this.startedAt = Date.now();
      }
      this.buffer.push(outcome);
      const after = this.currentIntent();
      if (after ? record.offset >= after.lastOffset : this.buffer.length >= this.options.batchMaxRows) await this.flush(after);
    }
    if (this.skippedThrough >= 0 && this.buffer.length === 0) await this.commitSkipped();
  }

  /**
   * Commits past the records skipped as written before (nothing else is buffered before them). A
   * failure is only logged: the next batch's commit covers these offsets too.
   */
  private async commitSkipped(): Promise<void> {
    const through = this.skippedThrough;
    this.skippedThrough = -1;
    if (this.revoked) return;
    this.options.logger.info(
      { through, records: this.skippedCount, writtenThrough: this.options.writtenThrough },
      'skipped records read again that an earlier batch wrote',
    );
    this.skippedCount = 0;
    try {
      await this.options.steps.commit(through);
    } catch (error) {
      this.options.logger.warn({ err: error, through }, 'cannot commit past the records skipped as written; the next batch will');
    }
  }

  /**
   * Waits (heartbeating) until the pause is lifted; false when the partition is revoked or the
   * worker drains meanwhile (the held records then come back to whoever consumes it next).
   */
  private async hold(reason: string): Promise<boolean> {
    let resumed = false;
    const lifted = this.options.onGuardBreach(reason).then(() => {
      resumed = true;
    });
    while (!resumed && !this.revoked && !this.stopping) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([lifted, new Promise((resolve) => (timer = setTimeout(resolve, 1000)))]);
      clearTimeout(timer);
      await this.heartbeat().catch(() => undefined);
    }
    return resumed && !this.revoked && !this.stopping;
  }

  /** Flushes the buffer if it is older than the time bound (called by the pipeline's timer). */
  flushIfDue(now = Date.now()): Promise<void> {
    if (this.dueCheckQueued || this.buffer.length === 0 || now - this.startedAt < this.options.batchMaxMs || this.currentIntent())
      return this.chain;
    this.dueCheckQueued = true;
    return this.enqueue(async () => {
      this.dueCheckQueued = false;
      if (this.stopping || this.buffer.length === 0 || this.currentIntent()) return;
      if (Date.now() - this.startedAt >= this.options.batchMaxMs) await this.flush(undefined);
    });
  }

  /**
   * Shutdown: takes no more records, lets the batch being written finish (and be committed)
   * for at most graceMs, then abandons the rest; nothing abandoned was committed.
   */
  async drain(graceMs: number): Promise<void> {
    this.stopping = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.chain, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    this.revoke();
  }

  /** Resolves when the work queued so far is done. */
  idle(): Promise<void> {
    return this.chain;
  }

  private enqueue(work: () => Promise<void>): Promise<void> {
    const next = this.chain.then(work);
    this.chain = next.catch((error: Error) => {
      // Steps return outcomes and retry infrastructure failures; anything thrown here is a defect.
      this.options.logger.error({ err: error }, 'partition worker failed');
      this.options.onFatal(`partition worker ${this.options.topic}[${this.options.partition}] failed: ${error.message}`);
      this.revoke();
    });
    return next;
  }

  /** The recorded intent the current buffer must end at, if the buffer starts where one starts. */
  private currentIntent(): BatchIntent | undefined {
    while (this.pendingIntents.length > 0) {
      const intent = this.pendingIntents[0]!;
      const start = this.buffer.length > 0 ? this.firstOffset : Number.NaN;
      if (this.buffer.length === 0) return undefined;
      if (intent.lastOffset < start) {
        this.pendingIntents.shift();
        continue;
      }
      if (intent.firstOffset === start) return intent;
      if (intent.firstOffset < start) {
        this.options.logger.warn({ intent, start }, 'a recorded batch starts before the consumed position; it cannot be repeated exactly');
        this.pendingIntents.shift();
        continue;
      }
      return undefined;
    }
    return undefined;
  }

  private async flush(intent: BatchIntent | undefined): Promise<void> {
    const outcomes = this.buffer;
    const firstOffset = this.firstOffset;
    const lastOffset = outcomes[outcomes.length - 1]!.record.offset;
    this.buffer = [];
    this.firstOffset = -1;
    if (intent) this.pendingIntents.shift();
    const { topic, partition, groupId, steps, metrics, logger } = this.options;
    const rows: WritableEvent[] = [];
    const letters: { record: SourceRecord; reason: string }[] = [];
    let duplicates = 0;
    const duplicateOffsets: number[] = [];
    for (const outcome of outcomes) {
      if (outcome.kind === 'ok') rows.push({ event: outcome.event, partition, offset: outcome.record.offset });
      else if (outcome.kind === 'dead-letter') letters.push({ record: outcome.record, reason: outcome.reason });
      else {
        duplicates += 1;
        duplicateOffsets.push(outcome.record.offset);
      }
    }
    const token = `${groupId}/${topic}/${partition}/${firstOffset}-${lastOffset}`;
    let attempt = 0;
    let truncated = 0;
    /** Rows the write step dropped: their eventId was already written from another partition. */
    let droppedAcross = 0;
    for (;;) {
      if (this.revoked) return;
      const timer = metrics.writeLatency.startTimer();
      try {
        if (!intent) await steps.recordIntent({ firstOffset, lastOffset });
        // Revoked meanwhile: abandon before the insert (the next owner cuts the same batch from the intent).
        if (this.revoked) return;
        truncated = (await steps.deadLetter(letters))?.truncated ?? 0;
        if (this.revoked) return;
        const written = await steps.write(rows, token, () => this.revoked);
        if (written?.abandoned) return;
        droppedAcross = written?.duplicates ?? 0;
        const skipped = [
          ...letters.map((letter) => ({ offset: letter.record.offset, kind: 'dead_letter' as const })),
          ...duplicateOffsets.map((offset) => ({ offset, kind: 'duplicate' as const })),
          ...(written?.droppedOffsets ?? []).map((offset) => ({ offset, kind: 'duplicate' as const })),
        ];
        // Inserted: what the insert did is recorded even when revoked meanwhile, so that the next
        // owner skips these records instead of writing them again.
        if (skipped.length > 0) await steps.recordSkipped?.(skipped);
        await steps.recordWritten?.(lastOffset);
        // Never commit a partition this member no longer owns (a commit could move it backwards).
        if (this.revoked) return;
        await steps.commit(lastOffset);
        metrics.lastCommit.set(Date.now() / 1000);
        timer();
        break;
      } catch (error) {
        attempt += 1;
        metrics.writeFailures.inc();
        const delay = Math.min(30_000, 250 * 2 ** Math.min(attempt - 1, 7));
        const detail = `writing ${topic}[${partition}] ${firstOffset}-${lastOffset} failed (attempt ${attempt}): ${messageOf(error)}`;
        logger.warn({ err: error, attempt, retryInMs: delay }, 'batch write failed; retrying');
        this.options.onWriteHealth(false, detail);
        await sleepWithHeartbeat(delay, this.heartbeat, () => this.revoked);
      }
    }
    this.options.onWriteHealth(true);
    metrics.batchSize.observe(outcomes.length);
    duplicates += droppedAcross;
    metrics.written.inc({ topic }, rows.length - droppedAcross);
    for (const letter of letters) metrics.deadLettered.inc({ topic, reason: reasonClass(letter.reason) });
    if (truncated) metrics.deadLettersTruncated.inc({ topic }, truncated);
    if (duplicates) metrics.duplicates.inc({ topic }, duplicates);
    logger.debug({ firstOffset, lastOffset, rows: rows.length, deadLetters: letters.length, duplicates }, 'batch written');
  }
}

async function sleepWithHeartbeat(ms: number, heartbeat: () => Promise<void>, cancelled: () => boolean): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until && !cancelled()) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(1000, until - Date.now())));
    await heartbeat().catch(() => undefined);
  }
}
