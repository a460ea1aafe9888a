import { describe, expect, it } from 'vitest';
import { SeenEventIds } from './deduplicate.js';

describe('SeenEventIds', () => {
  it('says a copy at a later offset is an earlier copy, not the first one or one at an earlier offset', () => {
    const seen = new SeenEventIds(10);
    seen.remember('t', 'a', 5);
    expect(seen.isEarlierCopy('t', 'a', 6)).toBe(true);
    expect(seen.isEarlierCopy('t', 'a', 5)).toBe(false);
    expect(seen.isEarlierCopy('t', 'a', 4)).toBe(false);
    expect(seen.isEarlierCopy('u', 'a', 6)).toBe(false); // another tenant's id
    seen.remember('t', 'a', 3); // an earlier offset wins, a later one does not
    seen.remember('t', 'a', 9);
    expect(seen.isEarlierCopy('t', 'a', 4)).toBe(true);
    expect(seen.size).toBe(1);
  });

  it('forgets the oldest ids first once over capacity, and keeps forgetting in order over many', () => {
    const seen = new SeenEventIds(2);
    seen.remember('t', 'a', 1);
    seen.remember('t', 'b', 2);
    seen.remember('t', 'a', 0); // not a new id: a is still the oldest
    seen.remember('t', 'c', 3);
    expect([seen.isEarlierCopy('t', 'a', 9), seen.isEarlierCopy('t', 'b', 9), seen.isEarlierCopy('t', 'c', 9)]).toEqual([
      false,
      true,
      true,
    ]);
    expect(seen.size).toBe(2);
    const many = new SeenEventIds(1000);
    for (let i = 0; i < 200_000; i += 1) many.remember(`t${i % 3}`, `id-${i}`, i);
    expect(many.size).toBe(1000);
    expect(many.isEarlierCopy('t0', 'id-198999', 10 ** 6)).toBe(false); // forgotten (198999 % 3 = 0)
    expect(many.isEarlierCopy('t0', 'id-199002', 10 ** 6)).toBe(true);
    expect(many.isEarlierCopy('t0', 'id-199000', 10 ** 6)).toBe(false); // 199000 % 3 = 1: another tenant
    expect(many.isEarlierCopy('t1', 'id-199000', 10 ** 6)).toBe(true);
  });
});
