import type { Readable } from 'node:stream';
import type { Kafka } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  DownloadService,
  DownloadStore,
  LocalDownloadStorage,
  type DownloadJob,
  type DownloadStorage,
} from '../../services/downloads/index.js';
import type { AssignmentEvent, SendingEvent } from '../../services/events/types.js';
import type { ClickHouseClient, ClickHouseHandle } from '../../services/platform/clickhouse.js';
import type { Config } from '../../services/platform/config.js';
import { createKafka } from '../../services/platform/kafka.js';
import { createLogger } from '../../services/platform/logger.js';
import { applyMigrations } from '../../services/migrations/migrate.js';
import { insertEvents } from '../../fixtures/raw-tables.js';
import { generateEvents } from '../../fixtures/events.js';
import { openTestClickHouse } from '../support/clickhouse.js';
import { SimulatedCrash } from '../support/downloads.js';

/**
 * Download jobs handed out through Kafka (a real broker, a consumer group over a one-partition
 * topic) to two workers on one ClickHouse: every run of a job is fenced by its owner and run
 * number, `ready` is final, a job's offset is committed only once its end is recorded, and a
 * job whose worker stopped renewing its lease is run again by the other.
 */
const DAY = 86_400_000;
const START = Date.UTC(2026, 10, 1);
const TENANT = 'tenant-0';
const LEASE_MS = 3000;

/** Local files, with a switch: the next write waits at its start until released (to go on, or to fail). */
class HeldStorage implements DownloadStorage {
  readonly inner: LocalDownloadStorage;
  private holdNext = false;
  holding = false;
  private release: ((error?: Error) => void) | undefined;
  constructor(dataDir: string) {
    this.inner = new LocalDownloadStorage(dataDir);
  }
  get description() {
    return this.inner.description;
  }
  hold() {
    this.holdNext = true;
  }
  /** Lets the held write go on, or fail with `error` (as an upload aborted by the next run would). */
  let(error?: Error) {
    this.release?.(error);
  }
  prepare() {
    return this.inner.prepare();
  }
  async write(tenantId: string, id: string, source: Readable, signal: AbortSignal) {
    if (this.holdNext) {
      this.holdNext = false;
      this.holding = true;
      const error = await new Promise<Error | undefined>((resolve) => (this.release = resolve));
      this.holding = false;
      if (error) {
        source.destroy();
        throw error;
      }
    }
    return this.inner.write(tenantId, id, source, signal);
  }
  open(tenantId: string, id: string) {
    return this.inner.open(tenantId, id);
  }
  remove(tenantId: string, id: string) {
    return this.inner.remove(tenantId, id);
  }
  locator(tenantId: string, id: string) {
    return this.inner.locator(tenantId, id);
  }
  check() {
    return this.inner.check();
  }
}

/** The ClickHouse client at its boundary: inserts wait while `frozen` (a worker cut off from ClickHouse), or fail `failRunning` times for a `running` row. */
function switchedClient(client: ClickHouseClient) {
  const state = { frozen: false, failRunning: 0, thaw: undefined as (() => void) | undefined };
  let thawed = Promise.resolve();
  const proxy = new Proxy(client, {
    get(target, property, receiver) {
      if (property === 'insert') {
        return async (params: Parameters<ClickHouseClient['insert']>[0]) => {
          while (state.frozen) await thawed;
          const values = params.values as { status?: string }[];
          if (params.table === 'downloads' && state.failRunning > 0 && values[0]?.status === 'running') {
            state.failRunning -= 1;
            throw new Error('injected fault: ClickHouse refused the insert');
          }
          return target.insert(params);
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return {
    client: proxy,
    state,
    freeze() {
      state.frozen = true;
      thawed = new Promise((resolve) => (state.thaw = resolve));
    },
    unfreeze() {
      state.frozen = false;
      state.thaw?.();
    },
  };
}

async function until<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('download jobs through Kafka: runs fenced by owner, ready final, offsets after the end', () => {
  let clickhouse: ClickHouseHandle;
  let config: Config;
  let events: SendingEvent[];
  let store: DownloadStore;
  const logger = createLogger(process.env.LOG_LEVEL ?? 'silent');
  let workers: DownloadService[] = [];
  let run = 0;

  const truth = (toMs: number) =>
    events.filter((e): e is AssignmentEvent => e.type === 'assignment' && e.tenantId === TENANT && Date.parse(e.occurredAt) <= toMs).length;

  beforeAll(async () => {
    const opened = await openTestClickHouse('download-fencing');
    clickhouse = opened.handle;
    config = opened.config;
    await applyMigrations(clickhouse.client, logger);
    events = generateEvents({ seed: 21, count: 40_000, startMs: START, spanMs: 20 * DAY, tenants: 1 });
    await insertEvents(clickhouse.client, events);
    store = new DownloadStore(clickhouse.client);
  });

  afterEach(async () => {
    for (const worker of workers) await worker.stop();
    workers = [];
  });

  afterAll(async () => {
    await clickhouse?.close();
  });

  /** A scenario's topic and group; each worker records which jobs it set running. */
  function scenario() {
    run += 1;
    const name = `dl-fencing-${Date.now()}-${run}`;
    const topic = `${name}.download-requests`;
    const groupId = `${name}-workers`;
    const kafka = createKafka(config, logger, `${name}-admin`);
    const ran: { worker: number; job: DownloadJob }[] = [];
    const make = (index: number, options: { storage?: DownloadStorage; client?: ClickHouseClient; kafka?: Kafka } = {}) => {
      const worker = DownloadService.fromConfig(config, options.client ?? clickhouse.client, logger, {
        storage: options.storage ?? new LocalDownloadStorage(config.dataDir),
        pageRows: 2000,
        progressEveryMs: 200,
        leaseMs: LEASE_MS,
        kafka: {
          kafka: options.kafka ?? createKafka(config, logger, `${name}-worker-${index}`),
          topic,
          groupId,
          partitions: 1,
          sessionTimeoutMs: 6000,
          rebalanceTimeoutMs: 6000,
          worker: true,
        },
      });
      worker.on('job', (job: DownloadJob) => job.status === 'running' && ran.push({ worker: index, job }));
      workers.push(worker);
      return worker;
    };
    const assigned = (worker: DownloadService) => new Promise<number[]>((resolve) => worker.once('assigned', resolve));
    const committed = async (): Promise<number> => {
      const admin = kafka.admin();
      await admin.connect();
      try {
        const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
        return Number(entry?.partitions[0]?.offset ?? -1);
      } finally {
        await admin.disconnect();
      }
    };
    return { name, make, assigned, committed, ran };
  }

  const submission = (toMs: number) => ({
    tenantId: TENANT,
    userId: 'u',
    export: 'assignments' as const,
    fromMs: START,
    toMs,
    filters: {},
  });

  it('a job slower than the rebalance on a live worker: the new owner of the partition waits for it instead of running it again', async () => {
    const { make, assigned, committed, ran } = scenario();
    const storage = new HeldStorage(config.dataDir);
    const first = make(0, { storage });
    const firstAssigned = assigned(first);
    await first.start();
    expect(await firstAssigned).toEqual([0]);
    storage.hold();
    const toMs = START + 19 * DAY - 1;
    const job = await first.submit(submission(toMs));
    await until('the first worker runs the job, its write held', () => storage.holding && ran.some((r) => r.job.id === job.id));

    const second = make(1);
    let waitedAt = -1;
    second.on('waiting', (waiting: DownloadJob) => waiting.id === job.id && (waitedAt = renewals));
    let renewals = 0;
    first.on('progress', (progress: DownloadJob) => progress.id === job.id && (renewals += 1));
    await second.start();
    // The partition moves to the second worker (the first, busy, misses the rebalance); the job is
    // running on the first, which renews its lease: the second waits.
    await until('the second worker waits for the running job', () => waitedAt >= 0);
    // Longer than the lease: three renewals (one a third of the lease at least) after the wait began.
    await until('three more renewals of the lease', () => renewals >= waitedAt + 3);
    expect((await store.get(TENANT, job.id))!.status).toBe('running');
    storage.let();
    await until('the job ready and its offset committed', async () => (await committed()) === 1);
    const done = (await store.get(TENANT, job.id))!;
    expect(done).toMatchObject({ status: 'ready', rows: truth(toMs), attempt: 1, owner: first.workerId, error: '' });
    // One run, by the first worker.
    expect(ran.filter((r) => r.job.id === job.id).map((r) => r.worker)).toEqual([0]);
  }, 180_000);

  it('a worker cut off past its lease: the other runs the job again; the first one’s late `failed` never replaces `ready`', async () => {
    const { make, assigned, ran } = scenario();
    const storage = new HeldStorage(config.dataDir);
    const cut = switchedClient(clickhouse.client);
    const first = make(0, { storage, client: cut.client });
    const firstAssigned = assigned(first);
    await first.start();
    await firstAssigned;
    storage.hold();
    const toMs = START + 18 * DAY - 1;
    const job = await first.submit(submission(toMs));
    await until('the first worker runs the job, its write held', () => storage.holding && ran.some((r) => r.job.id === job.id));
    // From now on nothing the first worker writes reaches ClickHouse: its lease runs out.
    cut.freeze();
    const second = make(1);
    const ready = new Promise<DownloadJob>((resolve) =>
      second.on('job', (changed: DownloadJob) => changed.id === job.id && changed.status === 'ready' && resolve(changed)),
    );
    await second.start();
    const byTheSecond = await ready;
    expect(byTheSecond).toMatchObject({ attempt: 2, owner: second.workerId, rows: truth(toMs) });
    // The first worker comes back: its held writes go through, and its upload fails (aborted by the second's run).
    cut.unfreeze();
    storage.let(new Error('upload aborted by the next run of the job'));
    await until('the first worker is done with the job', () => first.runningJobs().length === 0);
    await first.stop();
    expect(ran.filter((r) => r.job.id === job.id).map((r) => [r.worker, r.job.attempt])).toEqual([
      [0, 1],
      [1, 2],
    ]);
    const after = (await store.get(TENANT, job.id))!;
    expect(after).toMatchObject({ status: 'ready', attempt: 2, owner: second.workerId, rows: truth(toMs), error: '' });
    // And so after merges keep one version per job.
    await clickhouse.client.command({ query: 'OPTIMIZE TABLE downloads FINAL' });
    expect((await store.get(TENANT, job.id))!).toMatchObject({ status: 'ready', attempt: 2 });
  }, 180_000);

  it('a `running` write that fails: the job’s offset is committed only after the job is ready', async () => {
    const { make, assigned, committed, ran } = scenario();
    const faulty = switchedClient(clickhouse.client);
    // Every attempt of the first claim (the service tries a state write three times).
    faulty.state.failRunning = 3;
    const worker = make(0, { client: faulty.client });
    const workerAssigned = assigned(worker);
    await worker.start();
    await workerAssigned;
    const toMs = START + 17 * DAY - 1;
    const job = await worker.submit(submission(toMs));
    const statusWhenCommitted = await until('the job’s offset committed', async () =>
      (await committed()) === 1 ? (await store.get(TENANT, job.id))!.status : undefined,
    );
    expect(faulty.state.failRunning).toBe(0);
    expect(statusWhenCommitted).toBe('ready');
    expect(ran.filter((r) => r.job.id === job.id)).toHaveLength(1);
    expect((await store.get(TENANT, job.id))!).toMatchObject({ status: 'ready', rows: truth(toMs) });
  }, 180_000);

  it('a worker that dies mid-job (as a kill -9 looks to the others): the other runs the job again once its lease ran out', async () => {
    const { name, make, assigned, committed, ran } = scenario();
    const storage = new HeldStorage(config.dataDir);
    const crash = new SimulatedCrash(config, `${name}-worker-0`);
    const first = make(0, { storage: crash.storage(storage), client: crash.clickhouse(clickhouse.client), kafka: crash.kafka });
    const firstAssigned = assigned(first);
    await first.start();
    await firstAssigned;
    storage.hold();
    const toMs = START + 16 * DAY - 1;
    const job = await first.submit(submission(toMs));
    await until('the first worker runs the job, its write held', () => storage.holding && ran.some((r) => r.job.id === job.id));
    crash.crash();
    const second = make(1);
    const ready = new Promise<DownloadJob>((resolve) =>
      second.on('job', (changed: DownloadJob) => changed.id === job.id && changed.status === 'ready' && resolve(changed)),
    );
    await second.start();
    expect(await ready).toMatchObject({ attempt: 2, owner: second.workerId, rows: truth(toMs) });
    await until('the job’s offset committed by the second worker', async () => (await committed()) === 1);
    // What is left of the first one is stopped: its frozen writes fail, its held upload goes on into nothing.
    crash.bury();
    storage.let();
    await first.stop();
    expect(ran.filter((r) => r.job.id === job.id).map((r) => [r.worker, r.job.attempt])).toEqual([
      [0, 1],
      [1, 2],
    ]);
    expect((await store.get(TENANT, job.id))!).toMatchObject({ status: 'ready', attempt: 2, owner: second.workerId, error: '' });
  }, 180_000);
});
