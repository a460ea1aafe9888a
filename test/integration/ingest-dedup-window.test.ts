import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WrittenIds } from '../../services/ingest/dedup/written-ids.js';
import { eventIdHashes } from '../../services/ingest/dedup/id-hash.js';
import { createUniqueWriteStep } from '../../services/ingest/steps/unique-write.js';
import type { WritableEvent } from '../../services/ingest/steps/write.js';
import { applyMigrations } from '../../services/migrations/migrate.js';
import { sideClientOf, type ClickHouseHandle } from '../../services/platform/clickhouse.js';
import type { AssignmentEvent } from '../../services/events/types.js';
import { createLogger } from '../../services/platform/logger.js';
import { openTestClickHouse } from '../support/clickhouse.js';
import { countRaw } from '../support/tables.js';

const logger = createLogger('error');

const assignment = (eventId: string, customerId = 'c-1'): AssignmentEvent => ({
  type: 'assignment',
  eventId,
  tenantId: 'tenant-w',
  occurredAt: '2026-11-05T10:00:00.000Z',
  customerId,
  playbookId: 'pb',
  playbookName: 'Playbook',
  campaignId: 'cm',
  campaignName: 'Campaign',
  action: 'entered',
});
const rowsOf = (ids: string[], partition: number, firstOffset: number): WritableEvent[] =>
  ids.map((id, i) => ({ event: assignment(id), partition, offset: firstOffset + i }));
const tokenOf = (rows: WritableEvent[]) => `test/assignments/${rows[0]!.partition}/${rows[0]!.offset}-${rows.at(-1)!.offset}`;

/**
 * The in-memory duplicate index (INGEST_DEDUP_INDEX_MAX_IDS > 0): the same decisions as the
 * engine's lookup — a copy from another partition dropped, a batch's own earlier attempt kept, a
 * hash collision never taken for a copy — from ids warmed from the engine, written by this process
 * or, on a server, by other members; and the window (INGEST_DEDUP_WINDOW_HOURS) respected.
 */
describe('ingest: the in-memory duplicate index', () => {
  let clickhouse: ClickHouseHandle;
  const indexes: WrittenIds[] = [];
  const index = (options: Partial<ConstructorParameters<typeof WrittenIds>[0]> = {}) => {
    const ids = new WrittenIds({
      client: sideClientOf(clickhouse.client),
      windowHours: 24,
      maxIds: 1_000_000,
      followOthers: false,
      logger,
      ...options,
    });
    indexes.push(ids);
    return ids;
  };
  const warm = async (ids: WrittenIds) => {
    ids.start();
    await ids.whenSettled();
    return ids;
  };
  /**
   * Inserts a row into the engine's id table as if `eventId` was written `hoursAgo` hours ago at
   * (partition, offset); `storedEventId` forges a row of another id under its hash (a collision).
   */
  const writtenAgo = async (eventId: string, hoursAgo: number, partition: number, offset: number, storedEventId = eventId) => {
    const [hash] = await eventIdHashes([{ tenantId: 'tenant-w', eventId }]);
    await clickhouse.client.insert({
      table: 'ingest_event_id_hashes',
      values: [
        {
          kafka_topic: 'assignment',
          id_hash: String(hash),
          tenant_id: 'tenant-w',
          event_id: storedEventId,
          kafka_partition: partition,
          kafka_offset: offset,
          ingested_at: Math.floor(Date.now() / 1000) - hoursAgo * 3600,
        },
      ],
      format: 'JSONEachRow',
    });
  };

  beforeAll(async () => {
    clickhouse = (await openTestClickHouse('ingest-dedup-window')).handle;
    // The id tables keep 49 hours (the longest window below, and one hour).
    await applyMigrations(clickhouse.client, logger, { dedupWindowHours: 48 });
  });

  afterAll(async () => {
    for (const ids of indexes) ids.stop();
    await clickhouse?.close();
  });

  it('warms from the ids the engine holds, then drops a copy from another partition and keeps a batch`s own retry', async () => {
    const plain = createUniqueWriteStep(clickhouse.client);
    const originals = rowsOf(['warm-1', 'warm-2'], 0, 10);
    await plain('assignment', originals, tokenOf(originals));
    const ids = await warm(index());
    expect(ids.state).toBe('ready');
    expect(ids.size().ids).toBe(2);
    const checks: number[] = [];
    const write = createUniqueWriteStep(clickhouse.client, {}, sideClientOf(clickhouse.client), {
      writtenIds: ids,
      onCheck: (seconds) => checks.push(seconds),
    });
    const before = await countRaw(clickhouse.client);
    // Copies on another partition, beside a new id.
    const copies = rowsOf(['warm-1', 'warm-2', 'warm-3'], 4, 70);
    expect(await write('assignment', copies, tokenOf(copies))).toEqual({ duplicates: 2, droppedOffsets: [70, 71] });
    // The same batch written again (a crash after its insert): the same decision, nothing counted twice.
    expect(await write('assignment', copies, tokenOf(copies))).toEqual({ duplicates: 2, droppedOffsets: [70, 71] });
    // The original batch written again finds its own rows and keeps them.
    expect(await write('assignment', originals, tokenOf(originals))).toEqual({ duplicates: 0, droppedOffsets: [] });
    expect(await countRaw(clickhouse.client)).toBe(before + 1);
    // warm-3 was remembered by the write itself: a later copy is a candidate confirmed by the engine.
    const later = rowsOf(['warm-3'], 2, 5);
    expect(await write('assignment', later, tokenOf(later))).toEqual({ duplicates: 1, droppedOffsets: [5] });
    expect(checks).toHaveLength(4);
    expect(ids.size().ids).toBe(3);
  });

  it('a candidate the engine does not confirm (a colliding hash, an insert that failed) is kept', async () => {
    const ids = await warm(index());
    // Another id under this id's hash, forged in the engine and remembered by the index.
    await writtenAgo('collides-w', 0, 1, 1, 'not-it');
    const [hash] = await eventIdHashes([{ tenantId: 'tenant-w', eventId: 'collides-w' }]);
    const other = await warm(index());
    const colliding = rowsOf(['collides-w'], 3, 300);
    expect(
      other.candidates('assignment', {
        high: new Uint32Array([Number(hash! >> 32n)]),
        low: new Uint32Array([Number(hash! & 0xffffffffn)]),
      }),
    ).toEqual([0]);
    const writeOther = createUniqueWriteStep(clickhouse.client, {}, clickhouse.client, { writtenIds: other });
    expect(await writeOther('assignment', colliding, tokenOf(colliding))).toEqual({ duplicates: 0, droppedOffsets: [] });
    // An insert that failed after its ids were remembered: the retry is kept, written once.
    let fail = true;
    const failing = createUniqueWriteStep(
      {
        ...clickhouse.client,
        insert: (async (params: Parameters<typeof clickhouse.client.insert>[0]) => {
          if (fail) throw new Error('the engine went away');
          return clickhouse.client.insert(params);
        }) as typeof clickhouse.client.insert,
      } as typeof clickhouse.client,
      {},
      clickhouse.client,
      { writtenIds: ids },
    );
    const batch = rowsOf(['fails-once'], 6, 60);
    await expect(failing('assignment', batch, tokenOf(batch))).rejects.toThrow('the engine went away');
    fail = false;
    const before = await countRaw(clickhouse.client);
    expect(await failing('assignment', batch, tokenOf(batch))).toEqual({ duplicates: 0, droppedOffsets: [] });
    expect(await countRaw(clickhouse.client)).toBe(before + 1);
  });

  it('keeps the window: an id written 30 hours ago is no copy with 24 hours, and is one with 48 (warm and cold alike)', async () => {
    await writtenAgo('old-30h', 30, 0, 1000);
    const day = await warm(index({ windowHours: 24 }));
    const twoDays = await warm(index({ windowHours: 48 }));
    const copy = rowsOf(['old-30h'], 9, 900);
    const withDay = createUniqueWriteStep(clickhouse.client, {}, clickhouse.client, { writtenIds: day, windowHours: 24 });
    const withTwoDays = createUniqueWriteStep(clickhouse.client, {}, clickhouse.client, { writtenIds: twoDays, windowHours: 48 });
    const coldTwoDays = createUniqueWriteStep(clickhouse.client, {}, clickhouse.client, { windowHours: 48 });
    expect(twoDays.candidates('assignment', await halves('old-30h'))).toEqual([0]);
    expect(day.candidates('assignment', await halves('old-30h'))).toEqual([]);
    expect(await withTwoDays('assignment', copy, tokenOf(copy))).toEqual({ duplicates: 1, droppedOffsets: [900] });
    expect(await coldTwoDays('assignment', copy, tokenOf(copy))).toEqual({ duplicates: 1, droppedOffsets: [900] });
    const before = await countRaw(clickhouse.client);
    expect(await withDay('assignment', copy, tokenOf(copy))).toEqual({ duplicates: 0, droppedOffsets: [] });
    expect(await countRaw(clickhouse.client)).toBe(before + 1);
  });

  it('on a server, learns what other members wrote since it warmed (and without following, would not)', async () => {
    const a = await warm(index({ followOthers: true }));
    const b = await warm(index({ followOthers: true }));
    const blind = await warm(index({ followOthers: false }));
    const writeA = createUniqueWriteStep(clickhouse.client, {}, clickhouse.client, { writtenIds: a });
    const writeB = createUniqueWriteStep(clickhouse.client, {}, clickhouse.client, { writtenIds: b });
    const first = rowsOf(['member-a-1', 'member-a-2'], 7, 7000);
    expect(await writeA('assignment', first, tokenOf(first))).toEqual({ duplicates: 0, droppedOffsets: [] });
    // Member b never saw member a's batch: it reads it before checking its own.
    expect(blind.candidates('assignment', await halves('member-a-1'))).toEqual([]);
    const copies = rowsOf(['member-a-2', 'member-b-1'], 8, 8000);
    expect(await writeB('assignment', copies, tokenOf(copies))).toEqual({ duplicates: 1, droppedOffsets: [8000] });
    expect(b.candidates('assignment', await halves('member-a-1'))).toEqual([0]);
    await b.follow('assignment');
    // And member a learns member b's.
    await a.follow('assignment');
    expect(a.candidates('assignment', await halves('member-b-1'))).toEqual([0]);
  });

  it('past INGEST_DEDUP_INDEX_MAX_IDS the index turns off and every batch asks the engine: copies are still dropped', async () => {
    const small = await warm(index({ maxIds: 2 }));
    expect(small.state).toBe('off');
    const write = createUniqueWriteStep(clickhouse.client, {}, clickhouse.client, { writtenIds: small });
    const copy = rowsOf(['warm-1'], 11, 1100);
    expect(await write('assignment', copy, tokenOf(copy))).toEqual({ duplicates: 1, droppedOffsets: [1100] });
  });
});

async function halves(eventId: string) {
  const [hash] = await eventIdHashes([{ tenantId: 'tenant-w', eventId }]);
  return { high: new Uint32Array([Number(hash! >> 32n)]), low: new Uint32Array([Number(hash! & 0xffffffffn)]) };
}
