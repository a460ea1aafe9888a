import { afterEach, describe, expect, it, vi } from 'vitest';
import { AnswerCache, TenantDataVersions, approximateJsonBytes, cachedAnswer } from './answer-cache.js';

function counter() {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    compute: (value: unknown) => async () => {
      calls += 1;
      return value;
    },
  };
}

/**
 * Fake timers for the cache's ages. The LRU reads the `performance` object it found when it was
 * imported (fake timers would replace the global one), so its now() reads the fake Date instead
 * (never 0: the LRU takes a start time of 0 for "no age").
 */
function useFakeClock(): void {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  vi.spyOn(performance, 'now').mockImplementation(() => Date.now());
}

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('AnswerCache', () => {
  it('answers again from the cache until a write bumps the tenant, and only that tenant', async () => {
    const versions = new TenantDataVersions();
    const cache = new AnswerCache({ versions, maxEntries: 10 });
    const work = counter();
    expect(await cache.get('a', ['campaigns', 1], work.compute('first'))).toBe('first');
    expect(await cache.get('a', ['campaigns', 1], work.compute('unused'))).toBe('first');
    expect(await cache.get('b', ['campaigns', 1], work.compute('b'))).toBe('b');
    expect(work.calls).toBe(2);
    versions.bump(['a']);
    expect(await cache.get('a', ['campaigns', 1], work.compute('second'))).toBe('second');
    expect(await cache.get('b', ['campaigns', 1], work.compute('unused'))).toBe('b');
    expect(work.calls).toBe(3);
    expect(cache.stats).toEqual({ hits: 2, misses: 3 });
  });

  it('tells requests apart by their description', async () => {
    const cache = new AnswerCache({ versions: new TenantDataVersions(), maxEntries: 10 });
    expect(await cache.get('a', ['outreach', { fromMs: 1, toMs: 2 }], async () => 1)).toBe(1);
    expect(await cache.get('a', ['outreach', { fromMs: 1, toMs: 3 }], async () => 2)).toBe(2);
    expect(await cache.get('a', ['campaigns', { fromMs: 1, toMs: 2 }], async () => 3)).toBe(3);
  });

  it('an answer computed while a write landed is not served after the write', async () => {
    const versions = new TenantDataVersions();
    const cache = new AnswerCache({ versions, maxEntries: 10 });
    let release: () => void = () => undefined;
    const slow = cache.get('a', 'q', async () => {
      await new Promise<void>((resolve) => (release = resolve));
      return 'read before the write';
    });
    // The write lands (and bumps) while the query runs; the query may not have seen it.
    versions.bump(['a']);
    release();
    expect(await slow).toBe('read before the write');
    expect(await cache.get('a', 'q', async () => 'read after the write')).toBe('read after the write');
  });

  it('identical requests in flight share one computation; a failure is not kept', async () => {
    const cache = new AnswerCache({ versions: new TenantDataVersions(), maxEntries: 10 });
    const work = counter();
    const [one, two] = await Promise.all([cache.get('a', 'q', work.compute(7)), cache.get('a', 'q', work.compute(8))]);
    expect([one, two, work.calls]).toEqual([7, 7, 1]);
    await expect(cache.get('a', 'broken', () => Promise.reject(new Error('engine down')))).rejects.toThrow('engine down');
    expect(await cache.get('a', 'broken', async () => 'recovered')).toBe('recovered');
  });

  it('keeps at most maxEntries answers and none past maxAgeMs', async () => {
    useFakeClock();
    const cache = new AnswerCache({ versions: new TenantDataVersions(), maxEntries: 2, maxAgeMs: 50 });
    const work = counter();
    await cache.get('a', 1, work.compute(1));
    await cache.get('a', 2, work.compute(2));
    await cache.get('a', 3, work.compute(3));
    await cache.get('a', 1, work.compute(1));
    expect(work.calls).toBe(4);
    vi.advanceTimersByTime(49);
    await cache.get('a', 1, work.compute(1));
    expect(work.calls).toBe(4);
    vi.advanceTimersByTime(31);
    await cache.get('a', 1, work.compute(1));
    expect(work.calls).toBe(5);
  });

  it('without a cache, cachedAnswer always computes', async () => {
    const work = counter();
    await cachedAnswer(undefined, 'a', 'q', work.compute(1));
    await cachedAnswer(undefined, 'a', 'q', work.compute(1));
    expect(work.calls).toBe(2);
  });

  it('is bounded in bytes: an answer larger than a quarter of maxBytes is not kept, older answers go to make room', async () => {
    const cache = new AnswerCache({ versions: new TenantDataVersions(), maxEntries: 100, maxBytes: 4_000 });
    const work = counter();
    const big = { rows: Array.from({ length: 100 }, (_, i) => ({ id: `campaign-${i}`, entries: i })) };
    expect(approximateJsonBytes(big)).toBeGreaterThan(1_000);
    expect(await cache.get('a', ['big'], work.compute(big))).toBe(big);
    expect(await cache.get('a', ['big'], work.compute(big))).toBe(big);
    expect(work.calls).toBe(2);
    // Small answers are kept, up to maxBytes in all (least recently used dropped first).
    const small = (n: number) => ({ rows: Array.from({ length: 10 }, (_, i) => ({ id: `c-${n}-${i}`, entries: i })) });
    for (let n = 0; n < 40; n += 1) await cache.get('a', ['small', n], work.compute(small(n)));
    expect(cache.bytes).toBeLessThanOrEqual(4_000);
    expect(cache.bytes).toBeGreaterThan(2_000);
    const before = work.calls;
    await cache.get('a', ['small', 39], work.compute(small(39)));
    expect(work.calls).toBe(before);
    await cache.get('a', ['small', 0], work.compute(small(0)));
    expect(work.calls).toBe(before + 1);
  });

  it('approximateJsonBytes is close to the JSON length', () => {
    const value = { a: 'x'.repeat(100), b: [1, 2.5, null, true, { c: 'é' }], d: undefined };
    const exact = JSON.stringify(value).length;
    expect(Math.abs(approximateJsonBytes(value) - exact)).toBeLessThanOrEqual(exact * 0.2);
  });
});
