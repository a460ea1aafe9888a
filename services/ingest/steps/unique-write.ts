import type { ClickHouseClient } from '../../platform/clickhouse.js';
import { eventIdHashes, eventIdHashHalves } from '../dedup/id-hash.js';
import type { WrittenIds } from '../dedup/written-ids.js';
import { createWriteStep, RAW_TABLES, type WritableEvent, type WriteOptions } from './write.js';

export { eventIdHashes };

/** Where an event id was written: partition and offset of its record (within one event type). */
interface Location {
  partition: number;
  offset: number;
}

/**
 * Locations by tenant, then event id. Two levels rather than one key per (tenant, id): the ids
 * are strings the records already hold, and V8 keeps a string's hash once computed, while a
 * joined key would be a new string to build and hash for every row, several times per batch.
 */
type LocationIndex = Map<string, Map<string, Location[]>>;

function addLocation(index: LocationIndex, tenantId: string, eventId: string, location: Location): void {
  let ids = index.get(tenantId);
  if (!ids) index.set(tenantId, (ids = new Map<string, Location[]>()));
  const locations = ids.get(eventId);
  if (locations) locations.push(location);
  else ids.set(eventId, [location]);
}

/**
 * The ids of `rows` written in the last `windowHours` hours, with every location they were written at.
 * One query per batch against ingest_event_id_hashes (ordered by type and the ids' hash): the
 * batch sends its ids' hashes, and only rows whose tenant and id equal one of the batch's are
 * taken, so a hash collision finds nothing it should not.
 */
async function writtenLocations(
  client: ClickHouseClient,
  kind: EventKind,
  rows: readonly WritableEvent[],
  windowHours: number,
): Promise<LocationIndex> {
  const found: LocationIndex = new Map();
  if (rows.length === 0) return found;
  const wanted = new Map<string, Set<string>>();
  const ids: { tenantId: string; eventId: string }[] = [];
  for (const { event } of rows) {
    let tenantIds = wanted.get(event.tenantId);
    if (!tenantIds) wanted.set(event.tenantId, (tenantIds = new Set()));
    if (tenantIds.has(event.eventId)) continue;
    tenantIds.add(event.eventId);
    ids.push(event);
  }
  const result = await client.query({
    query: `SELECT tenant_id, event_id, kafka_partition, kafka_offset FROM ingest_event_id_hashes
            WHERE kafka_topic = {kind:String} AND id_hash IN {hashes:Array(UInt64)}
              AND tenant_id IN {tenants:Array(String)} AND ingested_at >= now() - INTERVAL {hours:UInt32} HOUR`,
    // The tenants (a handful) also let a sharded cluster ask only their shards.
    query_params: { kind, hashes: await eventIdHashes(ids), tenants: [...wanted.keys()], hours: windowHours },
    format: 'JSONCompactEachRow',
  });
  for (const [tenant, id, partition, offset] of (await result.json()) as [string, string, number, string | number][]) {
    if (!wanted.get(tenant)?.has(id)) continue; // another id with the same hash
    addLocation(found, tenant, id, { partition: Number(partition), offset: Number(offset) });
  }
  return found;
}

type EventKind = 'assignment' | 'delivery';

/** Where the rows were written, by tenant and id (built only for a lookup that may have missed them). */
function locationsOf(rows: readonly WritableEvent[]): LocationIndex {
  const index: LocationIndex = new Map();
  for (const row of rows) addLocation(index, row.event.tenantId, row.event.eventId, { partition: row.partition, offset: row.offset });
  return index;
}

/**
 * Whether the row's id was written at another location (a copy to drop): found in an index at
 * some location, and not at the row's own (which is this batch's own earlier attempt).
 */
function writtenElsewhere(indexes: readonly LocationIndex[], { event, partition, offset }: WritableEvent): boolean {
  let elsewhere = false;
  for (let i = 0; i < indexes.length; i += 1) {
    const locations = indexes[i]!.get(event.tenantId)?.get(event.eventId);
    if (locations === undefined) continue;
    for (let j = 0; j < locations.length; j += 1) {
      const location = locations[j]!;
      if (location.partition === partition && location.offset === offset) return false;
      elsewhere = true;
    }
  }
  return elsewhere;
}

/** The JS thread's CPU so far, in microseconds. */
function threadCpu(): number {
  const { user, system } = process.threadCpuUsage();
  return user + system;
}

export interface UniqueWriteOptions {
  /**
   * The ids written within the window, in memory: once warm, a batch's ids are checked there and
   * only those it may hold (candidates) are confirmed against the engine. Without it, while it
   * warms, or when it is off, every batch's ids are looked up in the engine.
   */
  writtenIds?: WrittenIds;
  /** INGEST_DEDUP_WINDOW_HOURS (24 by default). */
  windowHours?: number;
  /**
   * Told every batch's duplicate check: its time, and the JS thread's CPU it took (hashing,
   * probing, choosing the rows; the engine's lookups are the engine's), in seconds.
   */
  onCheck?: (seconds: number, cpuSeconds: number) => void;
}

/**
 * write, deduplicated across partitions: before a batch is inserted, its ids are looked up among
 * the ids written in the window; a row whose id (for the same tenant and event type) was
 * written from another partition or offset is dropped as a duplicate. A row whose own
 * partition/offset is among them was written by an earlier attempt of this very batch (a crash
 * after the insert, before the commit) and is kept, so a batch written again has the same rows
 * (and its token makes ClickHouse drop it).
 *
 * The inserts of one process run one at a time, in call order. With the in-memory window warm, a
 * batch is checked in its turn, once every insert before it has ended: its ids against the
 * window, and the few it may hold against the engine (one small lookup, usually none). Otherwise
 * a batch's lookup in the engine starts at once, on `lookupClient` (beside the insert in flight),
 * and what it cannot have seen — the rows of the batches this process inserted after the lookup
 * began — is added from memory before the batch's rows are chosen. So two copies consumed at once
 * from two partitions count once.
 */
export function createUniqueWriteStep(
  client: ClickHouseClient,
  options: WriteOptions = {},
  lookupClient: ClickHouseClient = client,
  unique: UniqueWriteOptions = {},
) {
  const { writtenIds, onCheck } = unique;
  const windowHours = unique.windowHours ?? 24;
  const write = createWriteStep(client, options);
  let queue: Promise<unknown> = Promise.resolve();
  /** Batches that entered the step, and batches whose insert has ended (in the same order). */
  let entered = 0;
  let ended = 0;
  /** The kept rows of the batches a pending lookup may have missed, by batch number. */
  const recent = new Map<number, { kind: EventKind; rows: WritableEvent[] }>();
  /** The first batch number each pending call's lookup may have missed. */
  const missedFrom = new Map<number, number>();
  const forget = () => {
    const needed = Math.min(ended, ...missedFrom.values());
    for (const number of recent.keys()) if (number < needed) recent.delete(number);
  };
  /** The engine's lookup of the whole batch, timed. */
  const lookUp = (kind: EventKind, rows: readonly WritableEvent[]) => {
    const started = performance.now();
    const lookup = writtenLocations(lookupClient, kind, rows, windowHours).then((found) => ({ found, ms: performance.now() - started }));
    lookup.catch(() => undefined); // awaited in the batch's turn, after the inserts before it
    return lookup;
  };
  return function uniqueWriteStep(
    kind: EventKind,
    rows: WritableEvent[],
    token: string,
    cancelled: () => boolean = () => false,
    /** Told this batch's check (besides the options' onCheck). */
    onBatchCheck?: (seconds: number, cpuSeconds: number) => void,
  ): Promise<{ duplicates: number; droppedOffsets: number[]; abandoned?: boolean }> {
    const number = entered++;
    // Every insert that ended before the lookup starts is in its answer; later ones come from memory.
    missedFrom.set(number, ended);
    const early = writtenIds?.state === 'ready' ? undefined : lookUp(kind, rows);
    const run = queue.then(async () => {
      try {
        // Revoked while waiting for the inserts before it: abandoned before its insert started.
        if (cancelled()) return { duplicates: 0, droppedOffsets: [], abandoned: true };
        const started = performance.now();
        const cpu = threadCpu();
        const hashes = writtenIds ? await eventIdHashHalves(rows.map((row) => row.event)) : undefined;
        const indexes: LocationIndex[] = [];
        let lookupMs = 0;
        if (early) {
          const { found, ms } = await early;
          lookupMs = ms;
          indexes.push(found);
          for (let earlier = missedFrom.get(number)!; earlier < number; earlier += 1) {
            const batch = recent.get(earlier);
            if (batch?.kind === kind) indexes.push(locationsOf(batch.rows));
          }
        } else if (writtenIds!.state !== 'ready') {
          // Turned off since the call (too many ids): the engine, for the whole batch.
          indexes.push((await lookUp(kind, rows)).found);
        } else {
          // Every insert before this one has ended: the engine has their rows.
          await writtenIds!.follow(kind);
          const candidates = writtenIds!.candidates(kind, hashes!);
          if (candidates.length > 0)
            indexes.push(
              await writtenLocations(
                lookupClient,
                kind,
                candidates.map((i) => rows[i]!),
                windowHours,
              ),
            );
        }
        const kept: WritableEvent[] = [];
        const keptAt: number[] = [];
        const droppedOffsets: number[] = [];
        for (let i = 0; i < rows.length; i += 1) {
          const row = rows[i]!;
          if (writtenElsewhere(indexes, row)) {
            droppedOffsets.push(row.offset);
            continue;
          }
          kept.push(row);
          keptAt.push(i);
        }
        // Kept in memory also when the insert fails: part of it may be in.
        recent.set(number, { kind, rows: kept });
        if (writtenIds && hashes) writtenIds.remember(kind, hashes, keptAt);
        const checkSeconds = (lookupMs + performance.now() - started) / 1000;
        const checkCpuSeconds = (threadCpu() - cpu) / 1e6;
        onCheck?.(checkSeconds, checkCpuSeconds);
        onBatchCheck?.(checkSeconds, checkCpuSeconds);
        await write(RAW_TABLES[kind], kept, token);
        return { duplicates: droppedOffsets.length, droppedOffsets };
      } finally {
        ended = number + 1;
        missedFrom.delete(number);
        forget();
      }
    });
    queue = run.catch(() => undefined);
    return run;
  };
}
