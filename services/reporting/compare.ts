import { OUTSIDE_WINDOW } from '../events/instant.js';
import { InvalidRangeError } from './errors.js';
import { MIN_TIME_MS, type MetricsRange } from './range.js';

/**
 * `compare=previous`: the same figures for the window of equal length that ends 1 ms before
 * `from` — for [from, to] (both inclusive, so to − from + 1 ms long) that is
 * [from − (to − from + 1), from − 1] — and the change between the two.
 */

export const COMPARE_MODES = ['previous'] as const;
export type CompareMode = (typeof COMPARE_MODES)[number];

export function previousRange<R extends MetricsRange>(range: R): R {
  const length = range.toMs - range.fromMs + 1;
  const fromMs = range.fromMs - length;
  if (fromMs < MIN_TIME_MS) {
    throw new InvalidRangeError(
      `compare=previous: the previous period would start at ${new Date(fromMs).toISOString()}, which ${OUTSIDE_WINDOW}`,
    );
  }
  return { ...range, fromMs, toMs: range.fromMs - 1 };
}

export interface Change {
  /** current − previous; null when either is null (a rate with nothing to divide by). */
  absolute: number | null;
  /** (current − previous) / previous; null when previous is 0 or null (not defined). */
  relative: number | null;
}

export function change(current: number | null, previous: number | null): Change {
  if (current === null || previous === null) return { absolute: null, relative: null };
  const absolute = current - previous;
  return { absolute, relative: previous === 0 ? null : absolute / previous };
}

/** A rate-like leaf ({numerator, denominator, value}): its change is that of `value`. */
function isRate(value: unknown): value is { value: number | null; numerator: number; denominator: number } {
  return typeof value === 'object' && value !== null && 'numerator' in value && 'denominator' in value && 'value' in value;
}

export type ChangeTree<T> = T extends number
  ? Change
  : T extends { numerator: number; denominator: number; value: number | null }
    ? Change
    : T extends object
      ? { [K in keyof T as T[K] extends number | object ? K : never]: ChangeTree<T[K]> }
      : never;

/**
 * The change of every number (and every rate's value) in `current` against the same place in
 * `previous`: `{sms: {sent: {absolute, relative}, …}, …}`. Strings and nulls are left out.
 */
export function changeTree<T>(current: T, previous: T): ChangeTree<T> {
  if (typeof current === 'number') return change(current, previous as number) as ChangeTree<T>;
  if (isRate(current)) return change(current.value, (previous as typeof current).value) as ChangeTree<T>;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(current as object)) {
    if (typeof value === 'number' || (typeof value === 'object' && value !== null))
      out[key] = changeTree(value, (previous as Record<string, unknown>)[key]);
  }
  return out as ChangeTree<T>;
}
