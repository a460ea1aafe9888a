import { describe, expect, it } from 'vitest';
import { CountedThroughTracker } from './counted-through.js';

const P = 'assignments/0';

describe('CountedThroughTracker', () => {
  it('a caught-up partition is counted through its latest observation', () => {
    const tracker = new CountedThroughTracker();
    tracker.observe(P, 1_000, 10, 10);
    expect(tracker.countedThrough(P)).toBe(1_000);
    tracker.observe(P, 6_000, 10, 10);
    expect(tracker.countedThrough(P)).toBe(6_000);
    expect(tracker.lagSeconds(P, 6_500)).toBe(0.5);
    expect(tracker.pendingCount(P)).toBe(0);
  });

  it('behind: counted through the latest observation whose high watermark the committed offset has reached', () => {
    const tracker = new CountedThroughTracker();
    tracker.observe(P, 1_000, 10, 10);
    tracker.observe(P, 2_000, 20, 12);
    tracker.observe(P, 3_000, 30, 15);
    expect(tracker.countedThrough(P)).toBe(1_000);
    expect(tracker.lagSeconds(P, 4_000)).toBe(3);
    // Committed reaches 20 (the observation at 2 s) but not 30 (3 s) nor 40 (4 s).
    tracker.observe(P, 4_000, 40, 25);
    expect(tracker.countedThrough(P)).toBe(2_000);
    expect(tracker.pendingCount(P)).toBe(2);
    // Committed reaches everything observed so far.
    tracker.observe(P, 5_000, 40, 40);
    expect(tracker.countedThrough(P)).toBe(5_000);
    expect(tracker.pendingCount(P)).toBe(0);
  });

  it('before any caught-up point, the lag is the time since the first observation (a lower bound)', () => {
    const tracker = new CountedThroughTracker();
    tracker.observe(P, 1_000, 100, 0);
    tracker.observe(P, 2_000, 150, 50);
    expect(tracker.countedThrough(P)).toBeUndefined();
    expect(tracker.lagSeconds(P, 11_000)).toBe(10);
    expect(tracker.lagSeconds('deliveries/3', 11_000)).toBeUndefined();
  });

  it('an observation whose high watermark a later one does not exceed is dropped', () => {
    const tracker = new CountedThroughTracker();
    tracker.observe(P, 1_000, 50, 0);
    tracker.observe(P, 2_000, 50, 10);
    tracker.observe(P, 3_000, 50, 20);
    expect(tracker.pendingCount(P)).toBe(1);
    tracker.observe(P, 4_000, 60, 50);
    // The latest observation with high 50 is the claim.
    expect(tracker.countedThrough(P)).toBe(3_000);
    expect(tracker.pendingCount(P)).toBe(1);
  });

  it('never claims more than was observed when thinning many pending observations', () => {
    const tracker = new CountedThroughTracker(8);
    for (let i = 1; i <= 100; i += 1) tracker.observe(P, i * 1_000, i * 10, 0);
    expect(tracker.pendingCount(P)).toBeLessThanOrEqual(8);
    expect(tracker.countedThrough(P)).toBeUndefined();
    // Committed 555 reaches high watermarks up to 550 (observed at 55 s): the claim is at most that.
    tracker.observe(P, 101_000, 1_010, 555);
    const claim = tracker.countedThrough(P)!;
    expect(claim).toBeGreaterThan(0);
    expect(claim).toBeLessThanOrEqual(55_000);
    tracker.observe(P, 102_000, 1_010, 1_010);
    expect(tracker.countedThrough(P)).toBe(102_000);
  });

  it('a committed offset moved backwards does not take back what was counted', () => {
    const tracker = new CountedThroughTracker();
    tracker.observe(P, 1_000, 10, 10);
    tracker.observe(P, 2_000, 20, 5);
    expect(tracker.countedThrough(P)).toBe(1_000);
  });

  it('forgets partitions no longer owned; one owned again starts afresh', () => {
    const tracker = new CountedThroughTracker();
    tracker.observe(P, 1_000, 10, 10);
    tracker.observe('deliveries/1', 1_000, 10, 0);
    tracker.retain(new Set(['deliveries/1']));
    expect(tracker.keys()).toEqual(['deliveries/1']);
    tracker.observe(P, 9_000, 20, 0);
    expect(tracker.countedThrough(P)).toBeUndefined();
    expect(tracker.lagSeconds(P, 10_000)).toBe(1);
  });

  it('the lag in seconds is never negative', () => {
    const tracker = new CountedThroughTracker();
    tracker.observe(P, 5_000, 0, 0);
    expect(tracker.lagSeconds(P, 4_000)).toBe(0);
  });
});
