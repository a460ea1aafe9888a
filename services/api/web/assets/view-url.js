// @ts-check
/**
 * The view in the address. A link (an alert notification's, or one copied from the address bar)
 * opens a view: ?from&to (ISO-8601 instants with an offset, as the API takes them)
 * [&playbookId][&campaignId], and the chart's [&metric][&interval][&tz] (its buckets' IANA time
 * zone). Everything in it is untrusted: checked here, only ever shown as text. A view the user
 * picks is a new history entry, so back and forward go through the views.
 */

/** @typedef {'playbookId' | 'campaignId'} FilterName */
/** @typedef {{ playbookId?: string, campaignId?: string }} Filters */
/** @typedef {{ metric?: string, interval?: string, tz?: string }} ChartView */
/** @typedef {{ from?: string, to?: string } & Filters & ChartView} AskedView */

/** @type {readonly FilterName[]} */
export const FILTERS = ['playbookId', 'campaignId'];
/** @type {readonly ('metric' | 'interval' | 'tz')[]} */
export const CHART_PARAMS = ['metric', 'interval', 'tz'];
/** @type {readonly ('from' | 'to' | FilterName | 'metric' | 'interval' | 'tz')[]} */
export const VIEW_PARAMS = ['from', 'to', ...FILTERS, ...CHART_PARAMS];
const FILTER_WORDS = { playbookId: 'playbook', campaignId: 'campaign' };
/** The instants the API takes (services/events/instant.ts): an offset, at most milliseconds, 2000-2099. */
const INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?(?:Z|([+-])(\d{2}):(\d{2}))$/;
const INSTANT_MIN_MS = Date.UTC(2000, 0, 1);
const INSTANT_MAX_MS = Date.UTC(2100, 0, 1) - 1;

/**
 * Epoch milliseconds of an instant the API would take, or null. Date.parse alone would take 30 February as 2 March.
 * @param {string} text
 */
function instantMs(text) {
  const match = INSTANT.exec(text);
  if (!match) return null;
  const [y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0] = match.slice(1, 7).map(Number);
  const [fraction = '', sign, offsetHours = '0', offsetMinutes = '0'] = match.slice(7);
  const day = new Date(Date.UTC(y, mo - 1, d));
  if (day.getUTCFullYear() !== y || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d) return null;
  if (h > 23 || mi > 59 || sec > 59 || Number(offsetHours) > 23 || Number(offsetMinutes) > 59) return null;
  const offset = (sign === '-' ? -1 : 1) * (Number(offsetHours) * 60 + Number(offsetMinutes));
  const ms = Date.UTC(y, mo - 1, d, h, mi, sec, Number(fraction.padEnd(3, '0'))) - offset * 60_000;
  return ms >= INSTANT_MIN_MS && ms <= INSTANT_MAX_MS ? ms : null;
}

/**
 * An id as the API takes it (1-200 characters), without control characters.
 * @param {string} text
 */
// eslint-disable-next-line no-control-regex -- control characters are what it refuses
const validId = (text) => text.length <= 200 && !/[\u0000-\u001f\u007f]/.test(text);

/**
 * The view the address asks for: { view: { from?, to?, playbookId?, campaignId? }, notes } —
 * only the parts that are valid (instants normalised to UTC), and a sentence for each part
 * that is not (never repeating what the link holds).
 * @param {string} [search]
 * @returns {{ view: AskedView, notes: string[] }}
 */
export function readViewFromUrl(search = location.search) {
  const params = new URLSearchParams(search);
  /** @type {AskedView} */
  const view = {};
  const notes = [];
  const fromText = params.get('from') ?? '';
  const toText = params.get('to') ?? '';
  if (fromText || toText) {
    const fallback = 'so the last 7 days are shown.';
    const from = fromText ? instantMs(fromText) : null;
    const to = toText ? instantMs(toText) : null;
    const bad = [...(fromText && from === null ? ['start (from)'] : []), ...(toText && to === null ? ['end (to)'] : [])];
    if (bad.length)
      notes.push(
        `The link’s ${bad.join(' and ')} ${bad.length > 1 ? 'are not dates and times' : 'is not a date and time'} with an offset between 2000 and 2099 (like 2026-11-27T10:15:00.000Z), ${fallback}`,
      );
    else if (from === null) notes.push(`The link has an end (to) but no start (from), ${fallback}`);
    else if (to === null) notes.push(`The link has a start (from) but no end (to), ${fallback}`);
    else if (from > to) notes.push(`The link’s range starts after it ends, ${fallback}`);
    else Object.assign(view, { from: new Date(from).toISOString(), to: new Date(to).toISOString() });
  }
  for (const name of FILTERS) {
    const value = params.get(name) ?? '';
    if (!value) continue;
    if (validId(value)) view[name] = value;
    else notes.push(`The link’s ${FILTER_WORDS[name]} (${name}) is not a valid id; every ${FILTER_WORDS[name]} is shown.`);
  }
  const metric = params.get('metric') ?? '';
  if (metric) {
    if (/^[a-zA-Z.]{1,40}$/.test(metric)) view.metric = metric;
    else notes.push('The link’s chart metric (metric) is not one the chart draws.');
  }
  const interval = params.get('interval') ?? '';
  if (interval) {
    if (interval === 'hour' || interval === 'day') view.interval = interval;
    else notes.push('The link’s chart interval (interval) is neither hour nor day; the chart is per day.');
  }
  const tz = params.get('tz') ?? '';
  if (tz) {
    if (knownZone(tz)) view.tz = tz;
    else notes.push('The link’s time zone (tz) is not an IANA time zone; the browser’s is used.');
  }
  return { view, notes };
}

/**
 * Whether the browser knows an IANA time zone of this name.
 * @param {string} name
 */
export function knownZone(name) {
  if (name.length > 64) return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/**
 * Puts the view in the address; other parameters and the fragment stay. `push`: a new history
 * entry (a view the user picked) when the address changes; otherwise in place.
 * @param {AskedView} view
 * @param {{ push?: boolean }} [options]
 */
export function writeViewToUrl(view, { push = false } = {}) {
  const params = new URLSearchParams(location.search);
  for (const name of VIEW_PARAMS) {
    const value = view[name];
    if (value) params.set(name, value);
    else params.delete(name);
  }
  const search = params.toString();
  const address = `${location.pathname}${search ? `?${search}` : ''}${location.hash}`;
  if (push && address !== `${location.pathname}${location.search}${location.hash}`) history.pushState(null, '', address);
  else history.replaceState(history.state, '', address);
}

/** Whether the address holds any part of a view. */
export const addressHasView = () => VIEW_PARAMS.some((name) => new URLSearchParams(location.search).has(name));
