import { describe, expect, it } from 'vitest';
import { canonicalMillis, formatInstant, INSTANT_MAX_MS, INSTANT_MIN_MS, normaliseInstant, parseInstant } from './instant.js';

function normalised(text: string): string {
  const parsed = parseInstant(text);
  if (!parsed.ok) throw new Error(`${text} ${parsed.problem}`);
  return formatInstant(parsed.millis);
}

function refusal(text: string): string {
  const parsed = parseInstant(text);
  if (parsed.ok) throw new Error(`${text} was accepted`);
  return parsed.problem;
}

describe('ISO-8601 instants with an offset', () => {
  it.each([
    ['2026-11-27T10:15:00Z', '2026-11-27T10:15:00.000Z'],
    ['2026-11-27T10:15:00.1Z', '2026-11-27T10:15:00.100Z'],
    ['2026-11-27T10:15:00.12Z', '2026-11-27T10:15:00.120Z'],
    ['2026-11-27T10:15:00.123Z', '2026-11-27T10:15:00.123Z'],
    ['2026-11-27T11:15:00.123+01:00', '2026-11-27T10:15:00.123Z'],
    ['2026-11-27T04:45:00-05:30', '2026-11-27T10:15:00.000Z'],
    ['2026-01-01T00:30:00+01:00', '2025-12-31T23:30:00.000Z'],
    ['2024-02-29T23:59:59.999Z', '2024-02-29T23:59:59.999Z'],
    ['2000-02-29T12:00:00Z', '2000-02-29T12:00:00.000Z'],
    ['2000-01-01T00:00:00Z', '2000-01-01T00:00:00.000Z'],
    ['2099-12-31T23:59:59.999Z', '2099-12-31T23:59:59.999Z'],
  ])('%s → %s', (text, expected) => {
    expect(normalised(text)).toBe(expected);
  });

  it.each([
    ['2026-11-27 10:15', 'is not an ISO-8601 instant with an offset (Z or ±hh:mm)'],
    ['2026-11-27T10:15:00', 'is not an ISO-8601 instant with an offset (Z or ±hh:mm)'],
    ['2026-11-27T10:15Z', 'is not an ISO-8601 instant with an offset (Z or ±hh:mm)'],
    ['2026-11-27', 'is not an ISO-8601 instant with an offset (Z or ±hh:mm)'],
    ['2026-11-27T10:15:00+0100', 'is not an ISO-8601 instant with an offset (Z or ±hh:mm)'],
    ['2026-11-27t10:15:00z', 'is not an ISO-8601 instant with an offset (Z or ±hh:mm)'],
    [' 2026-11-27T10:15:00Z', 'is not an ISO-8601 instant with an offset (Z or ±hh:mm)'],
    ['1764238500000', 'is not an ISO-8601 instant with an offset (Z or ±hh:mm)'],
    ['2026-11-27T10:15:00.1234Z', 'has more than 3 fractional digits; the precision is milliseconds'],
    ['2026-02-30T10:00:00Z', 'is not a real date (February 2026 has 28 days)'],
    ['2100-02-29T10:00:00Z', 'is not a real date (February 2100 has 28 days)'],
    ['2026-04-31T10:00:00Z', 'is not a real date (April 2026 has 30 days)'],
    ['2026-13-01T10:00:00Z', 'is not a real date (there is no month 13)'],
    ['2026-00-10T10:00:00Z', 'is not a real date (there is no month 00)'],
    ['2026-11-00T10:00:00Z', 'is not a real date (November 2026 has 30 days)'],
    ['2026-11-27T24:00:00Z', 'is not a real time of day (00:00:00 to 23:59:59)'],
    ['2026-12-31T23:59:60Z', 'is not a real time of day (00:00:00 to 23:59:59)'],
    ['2026-11-27T10:15:00+24:00', 'has an impossible offset +24:00'],
    ['2026-11-27T10:15:00+01:60', 'has an impossible offset +01:60'],
    ['1999-12-31T23:59:59.999Z', 'is outside the supported range 2000-01-01T00:00:00.000Z to 2099-12-31T23:59:59.999Z'],
    ['2000-01-01T00:30:00+01:00', 'is outside the supported range 2000-01-01T00:00:00.000Z to 2099-12-31T23:59:59.999Z'],
    ['0050-01-01T00:00:00Z', 'is outside the supported range 2000-01-01T00:00:00.000Z to 2099-12-31T23:59:59.999Z'],
    ['2100-01-01T00:00:00Z', 'is outside the supported range 2000-01-01T00:00:00.000Z to 2099-12-31T23:59:59.999Z'],
    ['2150-06-01T00:00:00Z', 'is outside the supported range 2000-01-01T00:00:00.000Z to 2099-12-31T23:59:59.999Z'],
    ['1969-12-31T23:59:59.999Z', 'is outside the supported range 2000-01-01T00:00:00.000Z to 2099-12-31T23:59:59.999Z'],
  ])('refuses %s: %s', (text, expected) => {
    expect(refusal(text)).toBe(expected);
  });

  it.each(['2026-11-27T10:15:00.123Z', '2024-02-29T23:59:59.999Z', '2026-11-27T11:15:00.123+01:00', '2026-11-27T10:15:00Z'])(
    'normalises %s like parse and format do',
    (text) => {
      expect(normaliseInstant(text)).toEqual({ ok: true, instant: normalised(text) });
    },
  );

  it.each([
    ['2026-02-30T10:00:00.000Z', 'is not a real date (February 2026 has 28 days)'],
    ['2026-04-31T10:00:00.000Z', 'is not a real date (April 2026 has 30 days)'],
    ['2026-01-31T24:00:00.000Z', 'is not a real time of day (00:00:00 to 23:59:59)'],
    ['2026-01-01T10:60:00.000Z', 'is not a real time of day (00:00:00 to 23:59:59)'],
    ['2026-01-01T10:00:60.000Z', 'is not a real time of day (00:00:00 to 23:59:59)'],
    ['2026-13-01T10:00:00.000Z', 'is not a real date (there is no month 13)'],
    ['0050-01-01T00:00:00.000Z', 'is outside the supported range 2000-01-01T00:00:00.000Z to 2099-12-31T23:59:59.999Z'],
  ])('does not let the canonical shape hide an impossible instant: %s', (text, problem) => {
    expect(normaliseInstant(text)).toEqual({ ok: false, problem });
  });

  it('reads canonical instants as Date.parse does, inside the window and nothing else', () => {
    const day = 86_400_000;
    const wrong: string[] = [];
    // Every day of the window and a year either side, at a time of day that moves with the day.
    for (let millis = INSTANT_MIN_MS - 366 * day; millis <= INSTANT_MAX_MS + 366 * day; millis += day + 3_601_001) {
      const text = new Date(millis).toISOString();
      const expected = millis >= INSTANT_MIN_MS && millis <= INSTANT_MAX_MS ? millis : Number.NaN;
      if (!Object.is(canonicalMillis(text), expected)) wrong.push(text);
    }
    expect(wrong).toEqual([]);
    expect(canonicalMillis('2099-12-31T23:59:59.999Z')).toBe(INSTANT_MAX_MS);
    expect(canonicalMillis('2000-01-01T00:00:00.000Z')).toBe(INSTANT_MIN_MS);
    for (const text of [
      '2026-02-29T10:00:00.000Z',
      '2026-11-27T24:00:00.000Z',
      '2026-11-27T10:15:00.123+00:00',
      '2026-11-27T10:15:00Z',
      '2026-11-27t10:15:00.123Z',
      '2026-1a-27T10:15:00.123Z',
      '2026-11-27T10:15:00.12aZ',
      '+02026-11-27T10:15:00.123Z',
    ]) {
      expect(canonicalMillis(text), text).toBeNaN();
    }
  });
});

describe('normaliseInstant on canonical texts', () => {
  it('agrees with parseInstant on 20,000 canonical-shaped texts, real and impossible', () => {
    let seed = 7;
    const next = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const two = (n: number) => String(n).padStart(2, '0');
    for (let i = 0; i < 20_000; i += 1) {
      const text = `${1995 + next(110)}-${two(next(14))}-${two(next(33))}T${two(next(26))}:${two(next(62))}:${two(next(62))}.${String(next(1000)).padStart(3, '0')}Z`;
      const parsed = parseInstant(text);
      const normalised = normaliseInstant(text);
      expect(normalised.ok, text).toBe(parsed.ok);
      if (normalised.ok && parsed.ok) expect(normalised.instant).toBe(formatInstant(parsed.millis));
    }
  });
});

describe('formatInstant', () => {
  it('writes what toISOString writes, inside the window and outside it', () => {
    let seed = 11;
    const next = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed / 2 ** 31);
    const span = Date.parse('2110-01-01T00:00:00Z') - Date.parse('1990-01-01T00:00:00Z');
    const samples = [
      Date.parse('2000-01-01T00:00:00.000Z'),
      Date.parse('2099-12-31T23:59:59.999Z'),
      Date.parse('2024-02-29T23:59:59.999Z'),
      Date.parse('2024-03-01T00:00:00.000Z'),
      0,
      -1,
      1.5,
      ...Array.from({ length: 50_000 }, () => Date.parse('1990-01-01T00:00:00Z') + Math.floor(next() * span)),
    ];
    for (const millis of samples) expect(formatInstant(millis), String(millis)).toBe(new Date(millis).toISOString());
  });
});
