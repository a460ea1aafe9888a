import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../platform/logger.js';
import type { SendingEvent } from '../events/types.js';
import { createIngestMetrics } from './ingest-metrics.js';
import { InvalidRatioGuard } from './invalid-ratio.js';
import { PartitionWorker, type PartitionSteps } from './partition-worker.js';
import type { BatchIntent } from './batch-intents.js';
import type { Outcome, SourceRecord } from './record.js';
import { createDeduplicateStep, SeenEventIds } from './steps/deduplicate.js';

const event = (id: string): SendingEvent => ({
  type: 'assignment',
  eventId: id,
  tenantId: 't',
  occurredAt: '2026-11-27T10:00:00.000Z',
  customerId: 'c',
  playbookId: 'p',
  playbookName: 'P',
  campaignId: 'c',
  campaignName: 'C',
  action: 'entered',
});

const record = (offset: number, value = `e${offset}`): SourceRecord => ({
  topic: 'assignments',
  partition: 0,
  offset,
  key: null,
  value: Buffer.from(value),
});

/** Fake steps: records whose value starts with "bad" are dead letters; a value is its eventId. */
function harness(
  options: {
    batchMaxRows?: number;
    batchMaxMs?: number;
    intents?: BatchIntent[];
    failWrites?: number;
    guard?: (invalid: boolean) => string | undefined;
    onGuardBreach?: (reason: string) => Promise<void>;
  } = {},
) {
  const written: { rows: string[]; token: string }[] = [];
  const intents: BatchIntent[] = [];
  const commits: number[] = [];
  const letters: string[] = [];
  let failures = options.failWrites ?? 0;
  const health: boolean[] = [];
  const seen = new SeenEventIds(1000);
  const steps: PartitionSteps = {
    decode: (r): Outcome =>
      r.value!.toString().startsWith('bad')
        ? { kind: 'dead-letter', record: r, reason: 'bad' }
        : { kind: 'ok', record: r, event: event(r.value!.toString()) },
    deduplicate: createDeduplicateStep(seen),
    recordIntent: async (intent) => void intents.push(intent),
    deadLetter: async (list) => void letters.push(...list.map((l) => l.record.value!.toString())),
    write: async (rows, token) => {
      if (failures > 0) {
        failures -= 1;
        throw new Error('engine down');
      }
      written.push({ rows: rows.map((r) => r.event.eventId), token });
    },
    commit: async (last) => void commits.push(last),
    guard: options.guard ?? (() => undefined),
  };
  const worker = new PartitionWorker({
    topic: 'assignments',
    partition: 0,
    groupId: 'g',
    batchMaxRows: options.batchMaxRows ?? 3,
    batchMaxMs: options.batchMaxMs ?? 60_000,
    intents: options.intents ?? [],
    steps,
    metrics: createIngestMetrics(new Registry()),
    logger: createLogger('silent'),
    onWriteHealth: (ok) => health.push(ok),
    onFatal: (reason) => {
      throw new Error(reason);
    },
    onGuardBreach: options.onGuardBreach ?? (() => new Promise<void>(() => undefined)),
  });
  return { worker, written, intents, commits, letters, health, seen };
}

const heartbeat = async () => {};

afterEach(() => {
  vi.useRealTimers();
});

describe('PartitionWorker', () => {
  it('cuts batches at the row bound, records each intent before writing, and commits after the write', async () => {
    const h = harness({ batchMaxRows: 3 });
    await h.worker.add(
      [0, 1, 2, 3, 4, 5, 6].map((o) => record(o)),
      heartbeat,
    );
    await h.worker.idle();
    expect(h.written).toEqual([
      { rows: ['e0', 'e1', 'e2'], token: 'g/assignments/0/0-2' },
      { rows: ['e3', 'e4', 'e5'], token: 'g/assignments/0/3-5' },
    ]);
    expect(h.intents).toEqual([
      { firstOffset: 0, lastOffset: 2 },
      { firstOffset: 3, lastOffset: 5 },
    ]);
    expect(h.commits).toEqual([2, 5]);
  });

  it('flushes a partial batch once it is older than the time bound', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const h = harness({ batchMaxRows: 100, batchMaxMs: 10 });
    await h.worker.add([record(0), record(1)], heartbeat);
    await h.worker.idle();
    expect(h.written).toEqual([]);
    vi.setSystemTime(Date.now() + 9);
    await h.worker.flushIfDue();
    expect(h.written).toEqual([]);
    vi.setSystemTime(Date.now() + 1);
    await h.worker.flushIfDue();
    expect(h.written.map((w) => w.token)).toEqual(['g/assignments/0/0-1']);
    expect(h.commits).toEqual([1]);
  });

  it('repeats recorded batches exactly, whatever the bounds, and records no new intent for them', async () => {
    const h = harness({
      batchMaxRows: 100,
      intents: [
        { firstOffset: 10, lastOffset: 11 },
        { firstOffset: 12, lastOffset: 16 },
      ],
    });
    await h.worker.add(
      [10, 11, 12, 13].map((o) => record(o)),
      heartbeat,
    );
    await h.worker.add(
      [14, 15, 16, 17].map((o) => record(o)),
      heartbeat,
    );
    await h.worker.idle();
    expect(h.written.map((w) => w.token)).toEqual(['g/assignments/0/10-11', 'g/assignments/0/12-16']);
    expect(h.intents).toEqual([]);
    expect(h.commits).toEqual([11, 16]);
  });

  it('retries a failing write, reports unhealthy meanwhile, and commits only after it succeeds', async () => {
    const h = harness({ batchMaxRows: 2, failWrites: 2 });
    await h.worker.add([record(0), record(1)], heartbeat);
    await h.worker.idle();
    expect(h.health).toEqual([false, false, true]);
    expect(h.written).toHaveLength(1);
    expect(h.commits).toEqual([1]);
  }, 10_000);

  it('dead-letters bad records, drops later copies of an eventId, and still moves the offset past both', async () => {
    const h = harness({ batchMaxRows: 4 });
    await h.worker.add([record(0, 'a'), record(1, 'bad'), record(2, 'a'), record(3, 'b')], heartbeat);
    await h.worker.idle();
    expect(h.written[0]!.rows).toEqual(['a', 'b']);
    expect(h.letters).toEqual(['bad']);
    expect(h.commits).toEqual([3]);
  });

  it('keeps the earlier copy when a batch is repeated after its later duplicate was already seen', async () => {
    const h = harness({ batchMaxRows: 2 });
    // The index was warmed from ClickHouse: this batch's own rows were written before a crash.
    h.seen.remember('t', 'x', 5);
    await h.worker.add([record(5, 'x'), record(6, 'x')], heartbeat);
    await h.worker.idle();
    expect(h.written[0]!.rows).toEqual(['x']);
  });

  it('skips records fetched again and stops taking records once draining', async () => {
    const h = harness({ batchMaxRows: 2 });
    await h.worker.add([record(0), record(1)], heartbeat);
    await h.worker.add([record(0), record(1), record(2)], heartbeat);
    await h.worker.idle();
    expect(h.written.map((w) => w.rows)).toEqual([['e0', 'e1']]);
    await h.worker.drain(1000);
    await h.worker.add([record(3)], heartbeat);
    await h.worker.idle();
    expect(h.written).toHaveLength(1);
    expect(h.commits).toEqual([1]);
  });
});

describe('PartitionWorker under the invalid-ratio guard', () => {
  it('holds the record that tripped the guard, writes and commits nothing from it on, and goes on once resumed', async () => {
    const guard = new InvalidRatioGuard(0.5, 4);
    vi.useFakeTimers({ toFake: ['Date'] });
    let resume: () => void = () => undefined;
    let breached: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (breached = resolve));
    const breaches: string[] = [];
    const h = harness({
      batchMaxRows: 100,
      batchMaxMs: 1,
      guard: (invalid) => guard.observe(invalid),
      onGuardBreach: (reason) => {
        breaches.push(reason);
        breached();
        return new Promise<void>((resolve) => (resume = resolve));
      },
    });
    const records = [record(0), record(1, 'bad0'), record(2, 'bad1'), record(3, 'bad2'), record(4, 'bad3'), record(5)];
    await h.worker.add(records, heartbeat);
    await held;
    vi.setSystemTime(Date.now() + 1000);
    void h.worker.flushIfDue(); // queued behind the held record: nothing flushes
    await new Promise((resolve) => setImmediate(resolve));
    expect(breaches).toHaveLength(1);
    expect(h.commits).toEqual([]);
    guard.acknowledge();
    resume();
    await h.worker.idle();
    vi.setSystemTime(Date.now() + 1);
    await h.worker.flushIfDue();
    expect(h.letters).toEqual(['bad0', 'bad1', 'bad2', 'bad3']);
    expect(h.written.flatMap((w) => w.rows)).toEqual(['e0', 'e5']);
    expect(h.commits.at(-1)).toBe(5);
  });
});

describe('InvalidRatioGuard', () => {
  it('once acknowledged, lets the burst through and arms again when the share is back within the limit', () => {
    const guard = new InvalidRatioGuard(0.5, 4);
    for (const invalid of [true, true]) expect(guard.observe(invalid)).toBeUndefined();
    expect(guard.observe(true)).toBeUndefined();
    expect(guard.observe(true)).toMatch(/4 of the last 4/);
    guard.acknowledge();
    for (let i = 0; i < 10; i += 1) expect(guard.observe(true)).toBeUndefined();
    for (const invalid of [false, false]) expect(guard.observe(invalid)).toBeUndefined(); // 2 of 4: back within the limit
    for (let i = 0; i < 2; i += 1) expect(guard.observe(true)).toBeUndefined(); // still 2 of 4
    expect(guard.observe(true)).toMatch(/3 of the last 4/);
  });

  it('stops only when the invalid share of the last window exceeds the limit', () => {
    const guard = new InvalidRatioGuard(0.5, 10);
    for (let i = 0; i < 9; i += 1) expect(guard.observe(true)).toBeUndefined(); // window not full yet
    expect(guard.observe(false)).toMatch(/9 of the last 10 records were invalid \(limit 50%\)/);
    const lenient = new InvalidRatioGuard(0.5, 4);
    for (const invalid of [true, false, true, false, true, false]) expect(lenient.observe(invalid)).toBeUndefined();
  });
});
