import type { ClickHouseClient } from '../../platform/clickhouse.js';
import type { Logger } from '../../platform/logger.js';
import type { HashHalves } from './id-hash.js';
import { hourStamp, IdWindow } from './id-window.js';

export type EventKind = 'assignment' | 'delivery';
const KINDS: readonly EventKind[] = ['assignment', 'delivery'];
/** Ids read per warm-up statement (a range of their hashes). */
const WARM_CHUNK_IDS = 1_000_000;

export interface WrittenIdsOptions {
  /** The bookkeeping client: warm-up and following run on it, beside the inserts. */
  client: ClickHouseClient;
  /** INGEST_DEDUP_WINDOW_HOURS */
  windowHours: number;
  /** INGEST_DEDUP_INDEX_MAX_IDS: more ids in the window and the index is dropped (lookups go to the engine). */
  maxIds: number;
  /**
   * Other processes may write the same tables (a ClickHouse server, several ingest members): before
   * each check, the ids they wrote since the last look are read (ingest_event_ids, by partition and
   * offset). With the embedded engine this process is the only writer.
   */
  followOthers: boolean;
  logger: Logger;
  now?: () => number;
}

export type WrittenIdsState = 'warming' | 'ready' | 'off';

/**
 * The ids written within the window, per event type, in memory (IdWindow): warmed at start from
 * `ingest_event_id_hashes` (in ranges of the hash, a million ids a statement), then kept by the
 * ingest itself (every batch's kept rows, before their insert) and, on a server, by following what
 * other members write. Until warm, or when the window holds more than maxIds ids ('off'), the
 * caller asks the engine as before.
 */
export class WrittenIds {
  private readonly windows = new Map<EventKind, IdWindow>();
  private current: WrittenIdsState = 'warming';
  private stopped = false;
  private started = false;
  private readonly warmed: Promise<void>;
  private resolveWarmed!: () => void;
  /** Followed: how far each partition's ids were read (kafka_offset), per event type. */
  private readonly followed = new Map<EventKind, Map<number, number>>();
  private readonly now: () => number;

  constructor(private readonly options: WrittenIdsOptions) {
    this.now = options.now ?? Date.now;
    for (const kind of KINDS) this.windows.set(kind, new IdWindow(options.windowHours, options.maxIds));
    this.warmed = new Promise((resolve) => (this.resolveWarmed = resolve));
  }

  get state(): WrittenIdsState {
    return this.current;
  }

  /** Resolves once the index is warm (or off). */
  whenSettled(): Promise<void> {
    return this.warmed;
  }

  /** Ids in the window and bytes held, over both event types. */
  size(): { ids: number; bytes: number } {
    const nowHour = hourStamp(this.now());
    let ids = 0;
    let bytes = 0;
    for (const window of this.windows.values()) {
      ids += window.liveIds(nowHour);
      bytes += window.bytes;
    }
    return { ids, bytes };
  }

  /** Starts warming in the background (once); a failing engine is retried (1 s doubling to 30 s) until stop(). */
  start(): void {
    if (this.started) return;
    this.started = true;
    void (async () => {
      for (let attempt = 1; !this.stopped; attempt += 1) {
        try {
          const started = performance.now();
          await this.warm();
          // Stopped part-way: not warm (a stopped index is not used again).
          if (this.stopped) break;
          if (this.current === 'warming') this.current = 'ready';
          const { ids, bytes } = this.size();
          this.options.logger.info(
            { ids, megabytes: Math.round(bytes / 1e6), ms: Math.round(performance.now() - started), windowHours: this.options.windowHours },
            'duplicate index warm',
          );
          break;
        } catch (error) {
          if (this.current === 'off') break;
          const delay = Math.min(30_000, 1000 * 2 ** Math.min(attempt - 1, 5));
          this.options.logger.warn(
            { err: error, attempt, retryInMs: delay },
            'cannot warm the duplicate index yet; lookups go to the engine',
          );
          await new Promise((resolve) => setTimeout(resolve, delay));
        }
      }
      this.resolveWarmed();
    })();
  }

  stop(): void {
    this.stopped = true;
  }

  /** The ids of the window from the engine, in ranges of their hash. */
  private async warm(): Promise<void> {
    const hours = this.options.windowHours;
    for (const kind of KINDS) {
      if (this.options.followOthers) this.followed.set(kind, await this.offsetsWritten(kind));
      const counted = await this.options.client.query({
        query: `SELECT count() FROM ingest_event_id_hashes
                WHERE kafka_topic = {kind:String} AND ingested_at >= now() - INTERVAL {hours:UInt32} HOUR`,
        query_params: { kind, hours },
        format: 'JSONCompactEachRow',
      });
      const total = Number(((await counted.json()) as [string | number][])[0]![0]);
      if (total > this.options.maxIds) return this.turnOff(`the window holds ${total} ${kind} ids`);
      // The ids this process wrote meanwhile are kept; those the statements below also find are added once.
      const window = this.windows.get(kind)!;
      window.reserve(total + window.liveIds(hourStamp(this.now())), hourStamp(this.now()));
      const chunks = Math.max(1, Math.ceil(total / WARM_CHUNK_IDS));
      const step = (1n << 64n) / BigInt(chunks);
      for (let chunk = 0; chunk < chunks && !this.stopped; chunk += 1) {
        const from = step * BigInt(chunk);
        const last = chunk === chunks - 1;
        const result = await this.options.client.query({
          query: `SELECT groupArray(toUInt32(bitShiftRight(id_hash, 32))), groupArray(toUInt32(bitAnd(id_hash, 4294967295))),
                         groupArray(toUInt16(intDiv(toUInt32(ingested_at), 3600) % 65536))
                  FROM ingest_event_id_hashes
                  WHERE kafka_topic = {kind:String} AND id_hash >= {from:UInt64} ${last ? '' : 'AND id_hash < {to:UInt64}'}
                    AND ingested_at >= now() - INTERVAL {hours:UInt32} HOUR`,
          query_params: { kind, hours, from: String(from), to: String(from + step) },
          format: 'JSONCompactEachRow',
        });
        const [row] = (await result.json()) as [number[], number[], number[]][];
        if (row && !this.addAll(kind, row[0], row[1], row[2])) return;
      }
    }
  }

  private addAll(kind: EventKind, highs: number[], lows: number[], stamps: number[]): boolean {
    const window = this.windows.get(kind)!;
    const nowHour = hourStamp(this.now());
    for (let i = 0; i < highs.length; i += 1) {
      if (!window.add(highs[i]!, lows[i]!, stamps[i]!, nowHour)) {
        this.turnOff(`the window holds more than ${this.options.maxIds} ${kind} ids`);
        return false;
      }
    }
    return true;
  }

  private turnOff(why: string): void {
    if (this.current === 'off') return;
    this.current = 'off';
    for (const kind of KINDS) this.windows.set(kind, new IdWindow(this.options.windowHours, 0));
    this.options.logger.warn(
      { why, maxIds: this.options.maxIds },
      'duplicate index off (INGEST_DEDUP_INDEX_MAX_IDS): every batch asks the engine, at a cost that grows with the window',
    );
  }

  /** The last offset written per partition (ingest_event_ids), where following other members starts. */
  private async offsetsWritten(kind: EventKind): Promise<Map<number, number>> {
    const result = await this.options.client.query({
      query: `SELECT kafka_partition, max(kafka_offset) FROM ingest_event_ids WHERE kafka_topic = {kind:String} GROUP BY kafka_partition`,
      query_params: { kind },
      format: 'JSONCompactEachRow',
    });
    return new Map(
      ((await result.json()) as [number, string | number][]).map(([partition, offset]) => [Number(partition), Number(offset)]),
    );
  }

  /**
   * On a server: the ids written since the last look, by anyone (other members' and this one's
   * own, which are already known), read by partition and offset past how far each was read. A
   * partition is written in offset order, one batch at a time, so nothing is passed over.
   */
  async follow(kind: EventKind): Promise<void> {
    if (!this.options.followOthers || this.current !== 'ready') return;
    const offsets = this.followed.get(kind)!;
    const known = [...offsets.keys()];
    const conditions = [
      known.length === 0 ? '1' : `kafka_partition NOT IN (${known.join(', ')})`,
      ...[...offsets].map(([partition, offset]) => `(kafka_partition = ${partition} AND kafka_offset > ${offset})`),
    ];
    const result = await this.options.client.query({
      query: `SELECT kafka_partition, max(kafka_offset), groupArray(toUInt32(bitShiftRight(h, 32))), groupArray(toUInt32(bitAnd(h, 4294967295))),
                     groupArray(toUInt16(intDiv(toUInt32(ingested_at), 3600) % 65536))
              FROM (SELECT kafka_partition, kafka_offset, ingested_at, xxHash64(concat(tenant_id, '\\0', event_id)) AS h FROM ingest_event_ids
                    WHERE kafka_topic = {kind:String} AND ingested_at >= now() - INTERVAL {hours:UInt32} HOUR AND (${conditions.join(' OR ')}))
              GROUP BY kafka_partition`,
      query_params: { kind, hours: this.options.windowHours },
      format: 'JSONCompactEachRow',
    });
    for (const [partition, last, highs, lows, stamps] of (await result.json()) as [
      number,
      string | number,
      number[],
      number[],
      number[],
    ][]) {
      if (!this.addAll(kind, highs, lows, stamps)) return;
      offsets.set(Number(partition), Math.max(offsets.get(Number(partition)) ?? -1, Number(last)));
    }
  }

  /** The rows (indexes into `hashes`) whose id may have been written within the window: candidates to confirm. */
  candidates(kind: EventKind, hashes: HashHalves): number[] {
    const window = this.windows.get(kind)!;
    const nowHour = hourStamp(this.now());
    const found: number[] = [];
    for (let i = 0; i < hashes.low.length; i += 1) if (window.has(hashes.high[i]!, hashes.low[i]!, nowHour)) found.push(i);
    return found;
  }

  /** Remembers the ids of the rows `kept` (indexes into `hashes`), written now. */
  remember(kind: EventKind, hashes: HashHalves, kept: readonly number[]): void {
    if (this.current === 'off') return;
    const window = this.windows.get(kind)!;
    const nowHour = hourStamp(this.now());
    for (const i of kept) {
      if (!window.add(hashes.high[i]!, hashes.low[i]!, nowHour, nowHour)) {
        this.turnOff(`the window holds more than ${this.options.maxIds} ${kind} ids`);
        return;
      }
    }
  }
}
