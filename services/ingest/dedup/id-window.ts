/**
 * The event ids written in the last hours, kept compact in memory: the ingest's first answer to
 * "was this id written before?", whose cost per id does not grow with the window.
 *
 * An id is its 64-bit hash (xxHash64 of tenant and id, as `ingest_event_id_hashes` keeps it). A
 * slot keeps the hash's low 32 bits (which also choose the slot: open addressing, linear probing),
 * 16 bits of its high half, and the hour it was written (hours since the epoch, modulo 2^16):
 * 8 bytes. A lookup is one probe sequence comparing 48 bits of the hash; a match is only a
 * candidate, which the caller confirms against the engine, so a false match (about one in 2^48)
 * never drops an event, and a miss is certain. At most 3/4 of the slots are used and the table is
 * rebuilt for 1.5 times the live ids (a power of two): 11 to 24 MB per million ids. Ids older than the window are
 * skipped by lookups, their slots reused, and left out when the table is rebuilt.
 */

const EMPTY = 0;
const MIN_CAPACITY = 1 << 16;
const MAX_LOAD = 0.75;
/** Stamps up to this many hours ahead of the process's clock (the engine's clock may be ahead) count as live. */
const FUTURE_HOURS = 24;

/** Hours since the epoch, modulo 2^16: the stamp of an id written at `ms`. */
export function hourStamp(ms: number): number {
  return Math.floor(ms / 3_600_000) & 0xffff;
}

/** The 16 bits of the hash's high half a slot keeps (never 0, which marks an empty slot). */
function tag(high: number): number {
  return ((high >>> 16) ^ high) & 0xffff || 1;
}

export class IdWindow {
  /** Two words a slot, so that a probe reads one cache line: the hash's low half, then tag << 16 | stamp (0: empty). */
  private slots: Uint32Array;
  private mask: number;
  /** Slots holding an id, live or expired. */
  private used = 0;
  /** Ids by the hour stamp they were written in. */
  private readonly perHour = new Float64Array(0x10000);

  constructor(
    private readonly windowHours: number,
    /** More live ids than this and add() refuses (the caller falls back to the engine). */
    private readonly maxIds: number,
    /** Ids expected: the table starts with room for them (no rebuild until it grows by an eighth or more). */
    expectedIds = 0,
  ) {
    const size = slotsFor(expectedIds);
    this.slots = new Uint32Array(2 * size);
    this.mask = size - 1;
  }

  /** Bytes held by the table. */
  get bytes(): number {
    return this.slots.byteLength + this.perHour.byteLength;
  }

  /** Ids written within the window (by `nowHour`). */
  liveIds(nowHour: number): number {
    let live = 0;
    for (let age = -FUTURE_HOURS; age <= this.windowHours; age += 1) live += this.perHour[(nowHour - age) & 0xffff]!;
    return live;
  }

  private isLive(stamp: number, nowHour: number): boolean {
    const age = (nowHour - stamp) & 0xffff;
    return age <= this.windowHours || age >= 0x10000 - FUTURE_HOURS;
  }

  /** Whether an id with this hash (`high`, `low`: its 32-bit halves, unsigned) may have been written within the window. */
  has(high: number, low: number, nowHour: number): boolean {
    const wanted = tag(high);
    const { slots, mask } = this;
    for (let slot = low & mask; ; slot = (slot + 1) & mask) {
      const word = slots[2 * slot + 1]!;
      if (word === EMPTY) return false;
      if (word >>> 16 === wanted && slots[2 * slot] === low >>> 0 && this.isLive(word & 0xffff, nowHour)) return true;
    }
  }

  /**
   * Remembers an id written in hour `stamp` (a later stamp replaces an earlier one). False when
   * the window would hold more than `maxIds` ids: nothing is added then.
   */
  add(high: number, low: number, stamp: number, nowHour: number): boolean {
    if (this.used + 1 > (this.mask + 1) * MAX_LOAD && !this.rebuild(nowHour)) return false;
    const wanted = tag(high);
    const { slots, mask } = this;
    let reusable = -1;
    let slot = low & mask;
    for (; ; slot = (slot + 1) & mask) {
      const word = slots[2 * slot + 1]!;
      if (word === EMPTY) break;
      const known = word & 0xffff;
      const live = this.isLive(known, nowHour);
      if (word >>> 16 === wanted && slots[2 * slot] === low >>> 0 && live) {
        // The later of the two hours ("later": less than half the ring ahead).
        if (stamp !== known && ((stamp - known) & 0xffff) < 0x8000) {
          this.perHour[known]! -= 1;
          this.perHour[stamp]! += 1;
          slots[2 * slot + 1] = (wanted << 16) | stamp;
        }
        return true;
      }
      if (!live && reusable < 0) reusable = slot;
    }
    if (reusable >= 0) {
      this.perHour[slots[2 * reusable + 1]! & 0xffff]! -= 1;
      slot = reusable;
    } else if (this.used + 1 > this.maxIds) {
      // Full: without its expired ids, or not at all.
      return this.rebuild(nowHour) && this.add(high, low, stamp, nowHour);
    } else this.used += 1;
    slots[2 * slot] = low;
    slots[2 * slot + 1] = (wanted << 16) | stamp;
    this.perHour[stamp]! += 1;
    return true;
  }

  /** Makes room for `ids` ids in all (no rebuild until then), keeping what it holds. */
  reserve(ids: number, nowHour: number): void {
    if (slotsFor(ids) > this.mask + 1) this.rebuild(nowHour, ids);
  }

  /**
   * Rebuilds the table without its expired ids, for 1.5 times the live ids (at most 2/3 full after).
   * False, and nothing changed, when the live ids are already `maxIds`.
   */
  private rebuild(nowHour: number, expectedIds = 0): boolean {
    const live = this.liveIds(nowHour);
    if (live + 1 > this.maxIds) return false;
    const old = this.slots;
    const size = slotsFor(Math.max(live + 1, expectedIds));
    const slots = new Uint32Array(2 * size);
    const mask = size - 1;
    this.perHour.fill(0);
    let used = 0;
    for (let from = 0; from < old.length; from += 2) {
      const word = old[from + 1]!;
      if (word === EMPTY || !this.isLive(word & 0xffff, nowHour)) continue;
      const low = old[from]!;
      let slot = low & mask;
      while (slots[2 * slot + 1] !== EMPTY) slot = (slot + 1) & mask;
      slots[2 * slot] = low;
      slots[2 * slot + 1] = word;
      this.perHour[word & 0xffff]! += 1;
      used += 1;
    }
    this.slots = slots;
    this.mask = mask;
    this.used = used;
    return true;
  }
}

/** The table's size for `ids` ids: a power of two, at least 1.5 times as many slots (1/3 to 2/3 full). */
function slotsFor(ids: number): number {
  return Math.max(MIN_CAPACITY, 2 ** Math.ceil(Math.log2(Math.max(1, ids) * 1.5)));
}
