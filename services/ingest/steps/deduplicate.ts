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
  private readonly offsets = new Map<string, number>();

  constructor(private readonly capacity: number) {}

  static key(tenantId: string, eventId: string): string {
    return `${tenantId}\u0000${eventId}`;
  }

  get size(): number {
    return this.offsets.size;
  }

  remember(key: string, offset: number): void {
    const known = this.offsets.get(key);
    if (known !== undefined && known <= offset) return;
    this.offsets.set(key, offset);
    if (this.offsets.size > this.capacity) {
      const oldest = this.offsets.keys().next().value;
      if (oldest !== undefined) this.offsets.delete(oldest);
    }
  }

  isEarlierCopy(key: string, offset: number): boolean {
    const known = this.offsets.get(key);
    return known !== undefined && known < offset;
  }
}

export function createDeduplicateStep(seen: SeenEventIds) {
  return function deduplicateStep(outcome: Outcome): Outcome {
    if (outcome.kind !== 'ok') return outcome;
    const key = SeenEventIds.key(outcome.event.tenantId, outcome.event.eventId);
    if (seen.isEarlierCopy(key, outcome.record.offset)) return { kind: 'duplicate', record: outcome.record, event: outcome.event };
    seen.remember(key, outcome.record.offset);
    return outcome;
  };
}
