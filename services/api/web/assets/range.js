// @ts-check
/**
 * The range and filters on show: the form's inputs (local wall-clock times, whole seconds), the
 * exact range a link asked for, and the query strings of the API.
 */
import { $ } from './dom.js';
import { pad } from './format.js';
import { FILTERS } from './view-url.js';

/** @typedef {{ from: string, to: string }} Range ISO-8601 instants as the API takes them */
/** @typedef {import('./view-url.js').Filters} Filters */
/** @typedef {Range & Filters} View */

/** The IANA time zone of the chart's buckets and the trends': the browser's, unless a link asks for another. */
export let timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

/** @param {string | undefined} zone */
export function setTimeZone(zone) {
  timeZone = zone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** The range on show (null before the first). @type {Range | null} */
export let range = null;
/** The playbook and campaign the view is limited to (from a link). @type {Filters} */
export let filters = {};
/**
 * The exact range a link asked for, kept while the inputs still show it: they hold whole seconds,
 * an alert's window is exact to the millisecond.
 * @type {{ from: string, to: string, fromInput: string, toInput: string } | null}
 */
let pinned = null;

/** @param {Range} value */
export function setRange(value) {
  range = value;
}

/** @param {Filters} value */
export function setFilters(value) {
  filters = value;
}

/**
 * The view on show now.
 * @returns {View}
 */
export const currentView = () => ({ .../** @type {Range} */ (range), ...filters });

/** Whether the view is limited to a playbook or campaign. @param {Filters} view */
export const isFiltered = (view) => FILTERS.some((name) => view[name]);

const fromInput = () => $('#from', HTMLInputElement);
const toInput = () => $('#to', HTMLInputElement);

/** @param {Date} date */
function toLocalInput(date) {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** @param {string} value */
function fromLocalInput(value) {
  // datetime-local values are local wall-clock times; Date parses a value without an offset as local.
  const withSeconds = value.length === 16 ? `${value}:00` : value;
  const date = new Date(withSeconds);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** "UTC+05:30" @param {Date} date */
export function offsetLabel(date) {
  const minutes = -date.getTimezoneOffset();
  const sign = minutes >= 0 ? '+' : '-';
  return `UTC${sign}${pad(Math.floor(Math.abs(minutes) / 60))}:${pad(Math.abs(minutes) % 60)}`;
}

/** Today, the last 7 or the last 30 days, in the inputs. @param {string | undefined} name */
export function preset(name) {
  pinned = null;
  const now = new Date();
  const start = new Date(now);
  start.setHours(0, 0, 0, 0);
  if (name === '7d') start.setDate(start.getDate() - 6);
  if (name === '30d') start.setDate(start.getDate() - 29);
  fromInput().value = toLocalInput(start);
  toInput().value = toLocalInput(now);
}

/**
 * The range the inputs hold, or why they hold none.
 * @returns {Range | { error: string }}
 */
export function readRange() {
  if (pinned && fromInput().value === pinned.fromInput && toInput().value === pinned.toInput) return { from: pinned.from, to: pinned.to };
  pinned = null;
  const from = fromLocalInput(fromInput().value);
  const to = fromLocalInput(toInput().value);
  if (!from || !to) return { error: 'Enter both a start and an end.' };
  const toInclusive = new Date(to.getTime() + 999); // the whole last second counts
  if (from > toInclusive) return { error: 'The start is after the end.' };
  return { from: from.toISOString(), to: toInclusive.toISOString() };
}

/**
 * Shows a view's range in the inputs (to the second) and keeps the exact range while they show it.
 * @param {Range} view
 */
export function pinRange(view) {
  fromInput().value = toLocalInput(new Date(view.from));
  toInput().value = toLocalInput(new Date(view.to));
  // Read back: the input may shorten the value (no seconds when they are 0).
  pinned = { from: view.from, to: view.to, fromInput: fromInput().value, toInput: toInput().value };
}

/**
 * The query string of a view with `extra`; `filtered: false` leaves the filters out.
 * @param {View} view
 * @param {Record<string, string>} [extra]
 * @param {{ filtered?: boolean }} [options]
 */
export function viewQuery(view, extra = {}, { filtered = true } = {}) {
  const params = new URLSearchParams({ from: view.from, to: view.to });
  if (filtered)
    for (const name of FILTERS) {
      const value = view[name];
      if (value) params.set(name, value);
    }
  for (const [name, value] of Object.entries(extra)) params.set(name, value);
  return params.toString();
}

/**
 * The range for the status line; to the millisecond when it does not fall on whole seconds (a link's).
 * @param {Range} view
 */
export function rangeText(view) {
  const exact = [view.from, view.to].some((iso, index) => new Date(iso).getMilliseconds() !== (index === 0 ? 0 : 999));
  /** @type {Intl.DateTimeFormatOptions | undefined} */
  const options = exact
    ? {
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
        fractionalSecondDigits: 3,
      }
    : undefined;
  return `${new Date(view.from).toLocaleString(undefined, options)} to ${new Date(view.to).toLocaleString(undefined, options)}`;
}
