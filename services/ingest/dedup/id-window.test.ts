import { describe, expect, it } from 'vitest';
import { hourStamp, IdWindow } from './id-window.js';

/** A well-spread 64-bit hash of n, as two unsigned halves. */
function hashOf(n: number): [number, number] {
  const hash = BigInt.asUintN(64, BigInt(n + 1) * 0x9e3779b97f4a7c15n);
  return [Number(hash >> 32n), Number(hash & 0xffffffffn)];
}

describe('IdWindow', () => {
  const now = hourStamp(Date.UTC(2026, 11, 8, 12));

  it('finds every id added and (almost) no other, through rebuilds as it grows', () => {
    const window = new IdWindow(24, 1_000_000);
    let added = 0;
    let found = 0;
    for (let n = 0; n < 200_000; n += 1) if (window.add(...hashOf(n), now - (n % 24), now)) added += 1;
    for (let n = 0; n < 200_000; n += 1) if (window.has(...hashOf(n), now)) found += 1;
    expect([added, found]).toEqual([200_000, 200_000]);
    let false_ = 0;
    for (let n = 200_000; n < 400_000; n += 1) if (window.has(...hashOf(n), now)) false_ += 1;
    expect(false_).toBe(0);
    expect(window.liveIds(now)).toBe(200_000);
    // 8 bytes a slot, at most 3/4 used, at least 1/3 after a rebuild for 1.5 times the live ids (+ 512 kB of hour counts).
    expect(window.bytes - 0x10000 * 8).toBeGreaterThanOrEqual(200_000 * 8 * (4 / 3));
    expect(window.bytes - 0x10000 * 8).toBeLessThanOrEqual(200_000 * 8 * 3);
  });

  it('an id is found only when its low half and 16 bits of its high half match', () => {
    const window = new IdWindow(24, 100);
    window.add(0x12345678, 0x9abcdef0, now, now);
    expect(window.has(0x12345678, 0x9abcdef0, now)).toBe(true);
    expect(window.has(0x12345678, 0x9abcdef1, now)).toBe(false);
    expect(window.has(0x12355678, 0x9abcdef0, now)).toBe(false);
    // Ids whose high half is 0 are kept too (0 marks an empty slot inside the table).
    window.add(0, 7, now, now);
    expect(window.has(0, 7, now)).toBe(true);
  });

  it('forgets ids older than the window, reuses their slots and leaves them out of a rebuild', () => {
    const window = new IdWindow(24, 1_000_000);
    for (let n = 0; n < 1000; n += 1) window.add(...hashOf(n), now - 30, now);
    for (let n = 1000; n < 2000; n += 1) window.add(...hashOf(n), now - 24, now);
    expect(window.has(...hashOf(5), now)).toBe(false);
    expect(window.has(...hashOf(1005), now)).toBe(true);
    expect(window.has(...hashOf(1005), now + 1)).toBe(false);
    expect(window.liveIds(now)).toBe(1000);
    // An hour later the second thousand is out too; new ids take their slots.
    for (let n = 2000; n < 3000; n += 1) window.add(...hashOf(n), now + 1, now + 1);
    expect(window.liveIds(now + 1)).toBe(1000);
    // Grown past a rebuild, only the live ids are kept.
    for (let n = 3000; n < 103_000; n += 1) window.add(...hashOf(n), now + 1, now + 1);
    expect(window.liveIds(now + 1)).toBe(101_000);
    expect(window.has(...hashOf(2500), now + 1)).toBe(true);
    expect(window.has(...hashOf(1500), now + 1)).toBe(false);
  });

  it('an id added again keeps the later hour; stamps a little ahead of the clock count as live', () => {
    const window = new IdWindow(24, 100);
    window.add(...hashOf(1), now - 20, now);
    window.add(...hashOf(1), now - 2, now);
    window.add(...hashOf(1), now - 10, now);
    expect(window.has(...hashOf(1), now + 20)).toBe(true);
    expect(window.liveIds(now)).toBe(1);
    window.add(...hashOf(2), now + 3, now);
    expect(window.has(...hashOf(2), now)).toBe(true);
  });

  it('the hour stamp wraps around 2^16 hours', () => {
    const window = new IdWindow(24, 100);
    window.add(...hashOf(1), 0xffff, 0xffff);
    expect(window.has(...hashOf(1), 3)).toBe(true); // 4 hours later, past the wrap
    expect(window.has(...hashOf(1), 30)).toBe(false);
  });

  it('refuses ids past its maximum, keeping what it holds; reserve makes room without losing any', () => {
    const window = new IdWindow(24, 100_000);
    let refused = -1;
    for (let n = 0; n < 120_000 && refused < 0; n += 1) if (!window.add(...hashOf(n), now, now)) refused = n;
    expect(refused).toBeGreaterThanOrEqual(100_000 - 1);
    expect(window.has(...hashOf(10), now)).toBe(true);
    const roomy = new IdWindow(24, 10_000_000);
    for (let n = 0; n < 1000; n += 1) roomy.add(...hashOf(n), now, now);
    const before = roomy.bytes;
    roomy.reserve(1_000_000, now);
    expect(roomy.bytes).toBeGreaterThan(before);
    let kept = 0;
    for (let n = 0; n < 1000; n += 1) if (roomy.has(...hashOf(n), now)) kept += 1;
    expect(kept).toBe(1000);
  });
});
