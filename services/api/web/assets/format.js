// @ts-check
/** Numbers, percentages, changes and times as the page writes them. */

export const numbers = new Intl.NumberFormat();
const MINUS = '\u2212';

/** @param {number} n @param {number} [width] */
export const pad = (n, width = 2) => String(n).padStart(width, '0');

/** @param {number} value @param {number} digits */
const fixed = (value, digits) =>
  new Intl.NumberFormat(undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(value);

/**
 * A fraction as a percentage with 2 decimals, or more when 2 would round a non-zero rate to 0 %
 * (or one short of all to 100 %): 0.27 %, 0.0041 %, never a misleading 0.00 %.
 * @param {number | null | undefined} fraction
 * @param {number} [digits]
 */
export function percent(fraction, digits = 2) {
  if (fraction === null || fraction === undefined) return '–';
  const value = fraction * 100;
  if (value === 0) return '0 %';
  if (value === 100) return '100 %';
  let shown = digits;
  while (shown < 8) {
    const rounded = Math.abs(Number(value.toFixed(shown)));
    if (rounded !== 0 && rounded !== 100) break;
    shown += 1;
  }
  return `${value < 0 ? MINUS : ''}${fixed(Math.abs(value), shown)} %`;
}

/**
 * A threshold line: 0.02 → "2 %", 0.001 → "0.1 %".
 * @param {number} fraction
 */
export const line = (fraction) => `${new Intl.NumberFormat(undefined, { maximumFractionDigits: 4 }).format(fraction * 100)} %`;

/** @param {string} text @param {boolean} negative */
const signed = (text, negative) => `${negative ? MINUS : '+'}${text}`;

/**
 * A count's change against the previous period: "+12 (+4.5 %)", "no change", "+12 (none before)".
 * @param {import('./types.js').Change | undefined} change
 */
export function countChange(change) {
  if (!change || change.absolute === null) return '–';
  if (change.absolute === 0) return 'no change';
  const absolute = signed(numbers.format(Math.abs(change.absolute)), change.absolute < 0);
  const relative = change.relative === null ? 'none before' : signed(percent(Math.abs(change.relative), 1), change.relative < 0);
  return `${absolute} (${relative})`;
}

/**
 * A rate's change: the difference in percentage points ("+0.42 points").
 * @param {import('./types.js').Change | undefined} change
 */
export function rateChange(change) {
  if (!change || change.absolute === null) return 'cannot compare';
  if (change.absolute === 0) return 'no change';
  const points = percent(Math.abs(change.absolute)).replace(' %', '');
  return `${signed(points, change.absolute < 0)} points`;
}

/** @param {number} n @param {string} word */
export const plural = (n, word) => `${numbers.format(n)} ${word}${n === 1 ? '' : 's'}`;

/**
 * "14:03:07", in the page's time zone; with the date when it is not today.
 * @param {number} ms
 */
export function clockTime(ms) {
  const date = new Date(ms);
  const time = `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
  return date.toDateString() === new Date().toDateString() ? time : `${time} on ${date.toLocaleDateString()}`;
}

/**
 * "13 Jan 2026, 14:03:07", in the page's time zone.
 * @param {number} ms
 */
export function dateTime(ms) {
  const date = new Date(ms);
  return `${date.toLocaleDateString(undefined, { dateStyle: 'medium' })}, ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/**
 * "12 s ago", "5 min ago", "3 h ago", "2 days ago".
 * @param {number} seconds
 */
export function ago(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 600) return `${s} s ago`;
  if (s < 7200) return `${Math.floor(s / 60)} min ago`;
  if (s < 172_800) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} days ago`;
}
