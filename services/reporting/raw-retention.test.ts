import { describe, expect, it } from 'vitest';
import { preciseRange, rawEventsFrom, RAW_RETENTION_MARGIN_MS } from './raw-retention.js';
import { DAY_MS, ROLLUP_BUCKET_MS } from './range.js';

const at = (iso: string) => Date.parse(iso);
const range = (from: string, to: string) => ({ tenantId: 't', fromMs: at(from), toMs: at(to) });

describe('rawEventsFrom', () => {
  it('is undefined when raw events are kept for ever', () => {
    expect(rawEventsFrom(at('2026-12-07T10:00:00.000Z'), undefined)).toBeUndefined();
  });

  it('is now − days + the margin, rounded up to a 15-minute boundary', () => {
    const now = at('2026-12-07T10:07:30.000Z');
    const from = rawEventsFrom(now, 3)!;
    expect(from % ROLLUP_BUCKET_MS).toBe(0);
    expect(from).toBeGreaterThanOrEqual(now - 3 * DAY_MS + RAW_RETENTION_MARGIN_MS);
    expect(from - ROLLUP_BUCKET_MS).toBeLessThan(now - 3 * DAY_MS + RAW_RETENTION_MARGIN_MS);
    expect(new Date(from).toISOString()).toBe('2026-12-04T11:15:00.000Z');
  });
});

describe('preciseRange', () => {
  const rawFrom = at('2026-12-04T11:15:00.000Z');

  it('leaves a range wholly from the cut-off on exact to the millisecond', () => {
    const asked = range('2026-12-04T11:15:00.000Z', '2026-12-05T03:03:03.333Z');
    expect(preciseRange(asked, rawFrom)).toEqual({ range: asked, precision: { edges: 'millisecond' } });
    expect(preciseRange(asked, undefined)).toEqual({ range: asked, precision: { edges: 'millisecond' } });
  });

  it('widens an edge before the cut-off to its whole 15-minute bucket and says so', () => {
    const asked = range('2026-12-03T08:07:00.001Z', '2026-12-05T00:00:00.000Z');
    expect(preciseRange(asked, rawFrom)).toEqual({
      range: { ...asked, fromMs: at('2026-12-03T08:00:00.000Z') },
      precision: { edges: '15m', from: '2026-12-03T08:00:00.000Z', to: '2026-12-05T00:00:00.000Z' },
    });
    const before = range('2026-12-03T08:07:00.001Z', '2026-12-03T08:07:00.001Z');
    expect(preciseRange(before, rawFrom).precision).toEqual({
      edges: '15m',
      from: '2026-12-03T08:00:00.000Z',
      to: '2026-12-03T08:14:59.999Z',
    });
  });

  it('keeps edges on 15-minute boundaries as they are, before the cut-off too', () => {
    const aligned = range('2026-12-03T08:00:00.000Z', '2026-12-03T09:59:59.999Z');
    expect(preciseRange(aligned, rawFrom)).toEqual({ range: aligned, precision: { edges: 'millisecond' } });
  });
});
