import type { Outcome } from '../record.js';

/**
 * Drops a record whose eventId was already seen at an EARLIER offset of the same partition.
 * Copies of one event share the key tenant:customer and so the partition; comparing offsets
 * (rather than "seen at all") makes the decision the same when a batch is written again after a
 * crash, which keeps retried batches identical and so deduplicated by ClickHouse.
 * The index holds the last `capacity` ids (oldest forgotten first) and is warmed, when the
 * partition is assigned, from the ids written in the last day.
 */
export class SeenEventIds {
  /**
   * Offsets by tenant, then event id: the ids are strings the records already hold (V8 keeps a
   * string's hash), where one joined key per record would be a new string to build and hash.
   */
  private readonly offsets = new Map<string, Map<string, number>>();
  /** The ids in the order first remembered, for forgetting the oldest: a ring of [tenant, id]. */
  private readonly order: ([string, string] | undefined)[] = [];
  private oldest = 0;
  private count = 0;

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.count;
  }

  remember(tenantId: string, eventId: string, offset: number): void {
    let ids = this.offsets.get(tenantId);
    if (!ids) this.offsets.set(tenantId, (ids = new Map<string, number>()));
    const known = ids.get(eventId);
    if (known !== undefined) {
      if (offset < known) ids.set(eventId, offset);
      return;
    }
    ids.set(eventId, offset);
    this.count += 1;
    this.order.push([tenantId, eventId]);
    if (this.count > this.capacity) {
      const [tenant, id] = this.order[this.oldest]!;
      this.order[this.oldest] = undefined;
      this.oldest += 1;
      this.offsets.get(tenant)?.delete(id);
      this.count -= 1;
      // Drop the forgotten head now and then, so the ring does not grow for ever.
      if (this.oldest >= 65_536 && this.oldest * 2 >= this.order.length) {
        this.order.splice(0, this.oldest);
        this.oldest = 0;
      }
    }
  }

  isEarlierCopy(tenantId: string, eventId: string, offset: number): boolean {
    const known = this.offsets.get(tenantId)?.get(eventId);
    return known !== undefined && known < offset;
  }
}

export function createDeduplicateStep(seen: SeenEventIds) {
  return function deduplicateStep(outcome: Outcome): Outcome {
    if (outcome.kind !== 'ok') return outcome;
    const { tenantId, eventId } = outcome.event;
    if (seen.isEarlierCopy(tenantId, eventId, outcome.record.offset))
      return { kind: 'duplicate', record: outcome.record, event: outcome.event };
    seen.remember(tenantId, eventId, outcome.record.offset);
    return outcome;
  };
}
