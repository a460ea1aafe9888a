// The Assignments and Sending page: plain modules, no framework. Every number comes from the
// API with the bearer token kept in this tab's sessionStorage.
const $ = (selector) => document.querySelector(selector);
const numbers = new Intl.NumberFormat();
const TOKEN_KEY = 'sending-metrics-token';

const SMS_STATUSES = [
  ['sent', 'Sent', 'Handed to the provider and sent.'],
  ['failed', 'Failed', 'Could not be sent (likely an invalid phone number).'],
  ['rejected', 'Rejected', 'The delivery provider refused to send it.'],
  ['expired', 'Expired', 'Not sent within its send window.'],
];
const EMAIL_STATUSES = [
  ['sent', 'Sent', 'Handed to the provider and sent.'],
  ['failed', 'Failed', 'Could not be sent (likely an invalid address).'],
  ['rejected', 'Rejected', 'The delivery provider refused to send it.'],
  ['expired', 'Expired', 'Not sent within its send window.'],
  ['delivered', 'Delivered', 'The email reached the customer.'],
  ['bounced', 'Bounced', "Rejected by the recipient's mail server (likely an invalid address)."],
  ['blocked', 'Blocked', "The recipient's server blocked it (e.g. a spam filter)."],
  ['spamReported', 'Spam reported', 'Delivered, then reported as spam by the customer.'],
];
/**
 * The rates of /v1/metrics/rates: channel, key, name, what it counts, and the word for its
 * denominator (so the parts read "251 of 4,124 sent").
 */
const RATES = [
  ['sms', 'failureRate', 'Failure rate', 'failed, rejected or expired, of those attempted', 'attempted'],
  ['email', 'deliveryRate', 'Delivery rate', 'delivered, of those sent', 'sent'],
  ['email', 'bounceRate', 'Bounce rate', 'bounced, of those sent', 'sent'],
  ['email', 'blockRate', 'Block rate', 'blocked by the recipient’s server, of those sent', 'sent'],
  ['email', 'spamComplaintRate', 'Spam complaint rate', 'reported as spam, of those delivered', 'delivered'],
  ['email', 'sendFailureRate', 'Send failure rate', 'failed, rejected or expired, of those attempted', 'attempted'],
];
const rateInfo = (metric) => RATES.find(([channel, key]) => `${channel}.${key}` === metric);
const COUNT_METRICS = [
  ['entries', 'Campaign entries'],
  ['exits', 'Campaign exits'],
  ...SMS_STATUSES.map(([key, label]) => [`sms.${key}`, `Text messages: ${label.toLowerCase()}`]),
  ...EMAIL_STATUSES.map(([key, label]) => [`email.${key}`, `Emails: ${label.toLowerCase()}`]),
];
const RATE_METRICS = RATES.map(([channel, key, label]) => [
  `${channel}.${key}`,
  `${channel === 'sms' ? 'Text messages' : 'Emails'}: ${label.toLowerCase()}`,
]);
const METRICS = [...COUNT_METRICS, ...RATE_METRICS];
const HEALTH = {
  ok: ['OK', 'Below the warning line.'],
  warning: ['Warning', 'At or above the warning line.'],
  critical: ['Critical', 'At or above the critical line.'],
  insufficient_volume: ['Too few to judge', 'Too few messages to judge.'],
};
const EXPORT_NAMES = {
  assignments: 'Assignments',
  deliveries: 'Outreach events',
  campaigns: 'Campaign table',
  outreach: 'Outreach table',
  'outreach-campaigns': 'Outreach per campaign',
};

let token = null;
/** The range on show: { from, to }, ISO-8601 instants as the API takes them. */
let range = null;
/** The playbook and campaign the view is limited to (from a link): { playbookId?, campaignId? }. */
let filters = {};
/**
 * The exact range a link asked for, kept while the inputs still show it: they hold whole seconds,
 * an alert's window is exact to the millisecond. { from, to, fromInput, toInput }.
 */
let pinned = null;
/** Whether the address follows the view: once it held one, or the user changed the view. */
let viewInUrl = false;
/** The load of the view on show; a newer one aborts it, and an older one's answers are never drawn. */
let viewLoad = null;
/** The chart's load; a newer one (another metric, another view) aborts it. */
let chartLoad = null;
/** View loads ended, drawn or not (tests wait for this). */
let viewLoadsEnded = 0;
let chart = null;
let downloadsTimer = null;
/** The last rates answer: the chart draws a rate's warning and critical lines from it. */
let lastRates = null;
/** The freshness of the last answer, and when (this page's clock) it arrived. */
let freshness = null;
let freshnessTimer = null;
/** Campaign names by id, from the last campaign table, to describe downloads in words. */
const campaignNames = new Map();
/** Playbook and campaign names by id, from the tables, to name an alert rule's scope. */
const playbookTitles = new Map();
const campaignTitles = new Map();

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: {
      authorization: `Bearer ${token}`,
      ...(options.body ? { 'content-type': 'application/json' } : {}),
      ...(options.headers ?? {}),
    },
  });
  if (response.status === 401) {
    signOut('Your token was refused (expired or not valid). Please sign in again.');
    throw new ApiError(401, 'not signed in');
  }
  if (!response.ok) {
    let message = `the server answered ${response.status}`;
    try {
      message = (await response.json()).error.message;
    } catch {
      /* not JSON */
    }
    throw new ApiError(response.status, message);
  }
  return response;
}

// ---- sign-in -------------------------------------------------------------------------------

function claims(jwt) {
  try {
    const payload = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(payload));
  } catch {
    return null;
  }
}

function signIn(candidate) {
  const parsed = claims(candidate);
  if (!parsed || typeof parsed.tenant !== 'string') return 'That does not look like an API token.';
  if (parsed.exp && parsed.exp * 1000 < Date.now()) return 'That token has expired.';
  token = candidate;
  sessionStorage.setItem(TOKEN_KEY, candidate);
  $('#who').textContent = `Tenant ${parsed.tenant}${parsed.sub ? ` · ${parsed.sub}` : ''}`;
  $('#sign-in').hidden = true;
  $('#main').hidden = false;
  $('#sign-out').hidden = false;
  return null;
}

function signOut(message) {
  token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  clearTimeout(downloadsTimer);
  clearInterval(freshnessTimer);
  freshness = null;
  $('#main').hidden = true;
  $('#sign-out').hidden = true;
  $('#sign-in').hidden = false;
  $('#who').textContent = 'Not signed in';
  $('#sign-in-error').textContent = message ?? '';
  $('#token-input').focus();
}

// ---- range ---------------------------------------------------------------------------------

const pad = (n, width = 2) => String(n).padStart(width, '0');
function toLocalInput(date) {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}
function fromLocalInput(value) {
  // datetime-local values are local wall-clock times; Date parses a value without an offset as local.
  const withSeconds = value.length === 16 ? `${value}:00` : value;
  const date = new Date(withSeconds);
  return Number.isNaN(date.getTime()) ? null : date;
}
function offsetLabel(date) {
  const minutes = -date.getTimezoneOffset();
  const sign = minutes >= 0 ? '+' : '-';
  return `UTC${sign}${pad(Math.floor(Math.abs(minutes) / 60))}:${pad(Math.abs(minutes) % 60)}`;
}

function preset(name) {
  pinned = null;
  const now = new Date();
  const start = new Date(now);
  start.setHours(0, 0, 0, 0);
  if (name === '7d') start.setDate(start.getDate() - 6);
  if (name === '30d') start.setDate(start.getDate() - 29);
  $('#from').value = toLocalInput(start);
  $('#to').value = toLocalInput(now);
}

function readRange() {
  if (pinned && $('#from').value === pinned.fromInput && $('#to').value === pinned.toInput) return { from: pinned.from, to: pinned.to };
  pinned = null;
  const from = fromLocalInput($('#from').value);
  const to = fromLocalInput($('#to').value);
  if (!from || !to) return { error: 'Enter both a start and an end.' };
  const toInclusive = new Date(to.getTime() + 999); // the whole last second counts
  if (from > toInclusive) return { error: 'The start is after the end.' };
  return { from: from.toISOString(), to: toInclusive.toISOString() };
}

/** The query string of a view ({ from, to, playbookId?, campaignId? }) with `extra`; `filtered: false` leaves the filters out. */
function viewQuery(view, extra = {}, { filtered = true } = {}) {
  const params = new URLSearchParams({ from: view.from, to: view.to });
  if (filtered) for (const name of FILTERS) if (view[name]) params.set(name, view[name]);
  for (const [name, value] of Object.entries(extra)) params.set(name, value);
  return params.toString();
}

/** The view on show now. */
const currentView = () => ({ ...range, ...filters });

// ---- the view in the address ---------------------------------------------------------------
// A link (an alert notification's, or one copied from the address bar) opens a view:
// ?from&to (ISO-8601 instants with an offset, as the API takes them) [&playbookId][&campaignId].
// Everything in it is untrusted: checked here, only ever shown as text.

const FILTERS = ['playbookId', 'campaignId'];
const VIEW_PARAMS = ['from', 'to', ...FILTERS];
const FILTER_WORDS = { playbookId: 'playbook', campaignId: 'campaign' };
/** The instants the API takes (services/events/instant.ts): an offset, at most milliseconds, 2000-2099. */
const INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?(?:Z|([+-])(\d{2}):(\d{2}))$/;
const INSTANT_MIN_MS = Date.UTC(2000, 0, 1);
const INSTANT_MAX_MS = Date.UTC(2100, 0, 1) - 1;

/** Epoch milliseconds of an instant the API would take, or null. Date.parse alone would take 30 February as 2 March. */
function instantMs(text) {
  const match = INSTANT.exec(text);
  if (!match) return null;
  const [y, mo, d, h, mi, sec] = match.slice(1, 7).map(Number);
  const [fraction = '', sign, offsetHours = '0', offsetMinutes = '0'] = match.slice(7);
  const day = new Date(Date.UTC(y, mo - 1, d));
  if (day.getUTCFullYear() !== y || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d) return null;
  if (h > 23 || mi > 59 || sec > 59 || Number(offsetHours) > 23 || Number(offsetMinutes) > 59) return null;
  const offset = (sign === '-' ? -1 : 1) * (Number(offsetHours) * 60 + Number(offsetMinutes));
  const ms = Date.UTC(y, mo - 1, d, h, mi, sec, Number(fraction.padEnd(3, '0'))) - offset * 60_000;
  return ms >= INSTANT_MIN_MS && ms <= INSTANT_MAX_MS ? ms : null;
}

/** An id as the API takes it (1-200 characters), without control characters. */
const validId = (text) => text.length <= 200 && !/[\u0000-\u001f\u007f]/.test(text);

/**
 * The view the address asks for: { view: { from?, to?, playbookId?, campaignId? }, notes } —
 * only the parts that are valid (instants normalised to UTC), and a sentence for each part
 * that is not (never repeating what the link holds).
 */
function readViewFromUrl(search = location.search) {
  const params = new URLSearchParams(search);
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
    else if (!fromText) notes.push(`The link has an end (to) but no start (from), ${fallback}`);
    else if (!toText) notes.push(`The link has a start (from) but no end (to), ${fallback}`);
    else if (from > to) notes.push(`The link’s range starts after it ends, ${fallback}`);
    else Object.assign(view, { from: new Date(from).toISOString(), to: new Date(to).toISOString() });
  }
  for (const name of FILTERS) {
    const value = params.get(name) ?? '';
    if (!value) continue;
    if (validId(value)) view[name] = value;
    else notes.push(`The link’s ${FILTER_WORDS[name]} (${name}) is not a valid id; every ${FILTER_WORDS[name]} is shown.`);
  }
  return { view, notes };
}

/** Puts the view in the address, in place (no new history entry); other parameters and the fragment stay. */
function writeViewToUrl(view) {
  const params = new URLSearchParams(location.search);
  for (const name of VIEW_PARAMS) {
    if (view[name]) params.set(name, view[name]);
    else params.delete(name);
  }
  const search = params.toString();
  history.replaceState(history.state, '', `${location.pathname}${search ? `?${search}` : ''}${location.hash}`);
}

/** Shows a view's range in the inputs (to the second) and keeps the exact range while they show it. */
function pinRange(view) {
  $('#from').value = toLocalInput(new Date(view.from));
  $('#to').value = toLocalInput(new Date(view.to));
  // Read back: the input may shorten the value (no seconds when they are 0).
  pinned = { from: view.from, to: view.to, fromInput: $('#from').value, toInput: $('#to').value };
}

/** "Campaign Welcome (Onboarding)", "Playbook Onboarding"; ids while the names are unknown. */
function filterText(view) {
  const playbook = view.playbookId ? (playbookTitles.get(view.playbookId) ?? view.playbookId) : null;
  if (!view.campaignId) return `Playbook ${playbook}`;
  const campaign = campaignTitles.get(view.campaignId) ?? view.campaignId;
  return playbook ? `Campaign ${campaign} (${playbook})` : `Campaign ${campaign}`;
}

function renderFilter() {
  const limited = FILTERS.some((name) => filters[name]);
  $('#view-filter').hidden = !limited;
  $('#view-filter-text').textContent = limited ? `Only ${filterText(filters)}.` : '';
}

/** The range for the status line; to the millisecond when it does not fall on whole seconds (a link's). */
function rangeText(view) {
  const exact = [view.from, view.to].some((iso, index) => new Date(iso).getMilliseconds() !== (index === 0 ? 0 : 999));
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

// ---- numbers --------------------------------------------------------------------------------

const MINUS = '\u2212';
const fixed = (value, digits) =>
  new Intl.NumberFormat(undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(value);

/**
 * A fraction as a percentage with 2 decimals, or more when 2 would round a non-zero rate to 0 %
 * (or one short of all to 100 %): 0.27 %, 0.0041 %, never a misleading 0.00 %.
 */
function percent(fraction, digits = 2) {
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

/** A threshold line: 0.02 → "2 %", 0.001 → "0.1 %". */
const line = (fraction) => `${new Intl.NumberFormat(undefined, { maximumFractionDigits: 4 }).format(fraction * 100)} %`;

const signed = (text, negative) => `${negative ? MINUS : '+'}${text}`;

/** A count's change against the previous period: "+12 (+4.5 %)", "no change", "+12 (none before)". */
function countChange(change) {
  if (!change || change.absolute === null) return '–';
  if (change.absolute === 0) return 'no change';
  const absolute = signed(numbers.format(Math.abs(change.absolute)), change.absolute < 0);
  const relative = change.relative === null ? 'none before' : signed(percent(Math.abs(change.relative), 1), change.relative < 0);
  return `${absolute} (${relative})`;
}

/** A rate's change: the difference in percentage points ("+0.42 points"). */
function rateChange(change) {
  if (!change || change.absolute === null) return 'cannot compare';
  if (change.absolute === 0) return 'no change';
  const points = percent(Math.abs(change.absolute)).replace(' %', '');
  return `${signed(points, change.absolute < 0)} points`;
}

// ---- tables --------------------------------------------------------------------------------

function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function emptyRow(tbody, columns, text) {
  tbody.replaceChildren();
  const tr = document.createElement('tr');
  const td = cell(text, 'empty');
  td.colSpan = columns;
  tr.append(td);
  tbody.append(tr);
}

/** A per-campaign answer bounded by the API (`truncated`): says that the table shows only its first rows. */
function renderTruncated(selector, answer) {
  const note = $(selector);
  note.hidden = !answer.truncated;
  note.textContent = answer.truncated
    ? `Showing the first ${answer.rows.length.toLocaleString('en-US')} campaigns of more (the API's limit); download the rows for all of them.`
    : '';
}

function renderCampaigns(rows) {
  const tbody = $('#campaigns tbody');
  for (const row of rows) {
    campaignNames.set(row.campaignId, `${row.campaignName} (${row.playbookName})`);
    noteNames(row);
  }
  if (rows.length === 0) return emptyRow(tbody, 5, 'No customer entered or exited a campaign in this range.');
  tbody.replaceChildren(
    ...rows.map((row) => {
      const tr = document.createElement('tr');
      tr.dataset.playbookId = row.playbookId;
      tr.dataset.campaignId = row.campaignId;
      const actions = document.createElement('td');
      for (const [action, label] of [
        ['entered', 'Entries'],
        ['exited', 'Exits'],
      ]) {
        const button = document.createElement('button');
        button.type = 'button';
        button.className = 'quiet';
        button.textContent = `Queue ${label.toLowerCase()}`;
        // The accessible name starts with the visible text (for speech input), then says which campaign.
        button.setAttribute('aria-label', `Queue ${label.toLowerCase()} of ${row.campaignName} (${row.playbookName}) for download`);
        button.addEventListener('click', () =>
          queueDownload('assignments', { playbookId: row.playbookId, campaignId: row.campaignId, action }),
        );
        actions.append(button);
      }
      tr.append(
        cell(row.playbookName),
        cell(row.campaignName),
        cell(numbers.format(row.entries), 'num entries'),
        cell(numbers.format(row.exits), 'num exits'),
        actions,
      );
      return tr;
    }),
  );
}

function block(text, className) {
  const span = document.createElement('span');
  span.className = className;
  span.textContent = text;
  return span;
}

/** A cell with a first line and a smaller second one (the second may be empty). */
function twoLines(first, second, className) {
  const td = document.createElement('td');
  if (className) td.className = className;
  td.append(block(first, 'main'));
  if (second) td.append(block(second, 'sub'));
  return td;
}

function renderStatuses(selector, statuses, counts, change, previous) {
  $(`${selector} tbody`).replaceChildren(
    ...statuses.map(([key, label, help]) => {
      const tr = document.createElement('tr');
      tr.dataset.status = key;
      const name = cell(label);
      name.title = help;
      const was = previous ? `was ${numbers.format(previous[key] ?? 0)}` : '';
      tr.append(
        name,
        cell(numbers.format(counts[key] ?? 0), 'num count'),
        twoLines(change ? countChange(change[key]) : '–', was, 'num change'),
        cell(help, 'help'),
      );
      return tr;
    }),
  );
}

/** The health badge: its text says what the colour does. */
function badge(rate) {
  if (!rate.health) return block('no threshold', 'badge none');
  const [text, meaning] = HEALTH[rate.health] ?? [rate.health, ''];
  const span = block(text, `badge health-${rate.health}`);
  if (rate.threshold) {
    span.title = `${meaning} Warning at ${line(rate.threshold.warning)}, critical at ${line(rate.threshold.critical)}, judged from ${numbers.format(rate.threshold.minimumVolume)} messages. ${rate.threshold.source}`;
  }
  return span;
}

/** "251 of 4,124 sent" */
const parts = (rate, word) => `${numbers.format(rate.numerator)} of ${numbers.format(rate.denominator)} ${word}`;

function rateValueCell(rate, word) {
  const td = twoLines(rate.value === null ? `– (no messages ${word})` : percent(rate.value), parts(rate, word), 'num value');
  td.dataset.numerator = rate.numerator;
  td.dataset.denominator = rate.denominator;
  return td;
}

function healthCell(rate) {
  const td = document.createElement('td');
  td.className = 'health';
  td.append(badge(rate));
  if (rate.health === 'insufficient_volume' && rate.threshold) {
    td.append(block(`fewer than ${numbers.format(rate.threshold.minimumVolume)}`, 'sub'));
  }
  td.dataset.health = rate.health ?? '';
  return td;
}

function renderRates(selector, channel, body) {
  $(`${selector} tbody`).replaceChildren(
    ...RATES.filter(([c]) => c === channel).map(([, key, label, meaning, word]) => {
      const rate = body[channel][key];
      const tr = document.createElement('tr');
      tr.dataset.rate = `${channel}.${key}`;
      const name = document.createElement('td');
      name.append(block(label, 'main'));
      const lines = rate.threshold ? `; warning at ${line(rate.threshold.warning)}, critical at ${line(rate.threshold.critical)}` : '';
      name.append(block(`${meaning}${lines}`, 'sub'));
      const before = body.previous?.[channel]?.[key];
      const was = before ? (before.value === null ? `none ${word} before` : `was ${percent(before.value)}`) : '';
      tr.append(
        name,
        rateValueCell(rate, word),
        healthCell(rate),
        twoLines(body.change ? rateChange(body.change[channel][key]) : '–', was, 'num change'),
      );
      return tr;
    }),
  );
}

function rateCell(rate, word) {
  const td = rateValueCell(rate, word);
  if (rate.health) td.append(badge(rate));
  td.dataset.health = rate.health ?? '';
  return td;
}

function renderOutreachCampaigns(rows) {
  const tbody = $('#outreach-campaigns tbody');
  for (const row of rows) noteNames(row);
  if (rows.length === 0) return emptyRow(tbody, 10, 'No text message or email in this range.');
  tbody.replaceChildren(
    ...rows.map((row) => {
      const tr = document.createElement('tr');
      tr.dataset.playbookId = row.playbookId ?? '';
      tr.dataset.campaignId = row.campaignId ?? '';
      const playbook = row.playbookId === null ? cell('No playbook', 'none') : cell(row.playbookName || row.playbookId);
      const campaign = row.campaignId === null ? cell('No campaign', 'none') : cell(row.campaignName || row.campaignId);
      const rate = (channel, key) => rateCell(row.rates[channel][key], rateInfo(`${channel}.${key}`)[4]);
      const sms = rate('sms', 'failureRate');
      sms.dataset.rate = 'sms.failureRate';
      const cells = [
        playbook,
        campaign,
        cell(numbers.format(row.sms.sent), 'num sms-sent'),
        sms,
        cell(numbers.format(row.email.sent), 'num email-sent'),
      ];
      for (const key of ['deliveryRate', 'bounceRate', 'blockRate', 'spamComplaintRate', 'sendFailureRate']) {
        const td = rate('email', key);
        td.dataset.rate = `email.${key}`;
        cells.push(td);
      }
      tr.append(...cells);
      return tr;
    }),
  );
}

// ---- freshness -----------------------------------------------------------------------------

/** "14:03:07", in the page's time zone; with the date when it is not today. */
function clockTime(ms) {
  const date = new Date(ms);
  const time = `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
  return date.toDateString() === new Date().toDateString() ? time : `${time} on ${date.toLocaleDateString()}`;
}

/** "12 s ago", "5 min ago", "3 h ago", "2 days ago". */
function ago(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 600) return `${s} s ago`;
  if (s < 7200) return `${Math.floor(s / 60)} min ago`;
  if (s < 172_800) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} days ago`;
}

function timeElement(ms) {
  const time = document.createElement('time');
  time.dateTime = new Date(ms).toISOString();
  time.textContent = clockTime(ms);
  return time;
}

/**
 * The server's "now" as of this moment: countedThrough + lagSeconds was the server's clock when it
 * answered, so a "… ago" does not depend on this computer's clock being right.
 */
function serverNow() {
  const { body, receivedAt } = freshness;
  const elapsed = Date.now() - receivedAt;
  if (body.countedThrough !== null && body.lagSeconds !== null) return Date.parse(body.countedThrough) + body.lagSeconds * 1000 + elapsed;
  return Date.now();
}

/** One sentence of the freshness line: text and <time> parts. */
function countedThroughParts(body) {
  const at = Date.parse(body.countedThrough);
  return [timeElement(at), ` (${ago((serverNow() - at) / 1000)})`];
}

function renderFreshness() {
  const p = $('#freshness');
  if (!freshness) {
    p.hidden = true;
    return;
  }
  const { body } = freshness;
  p.hidden = false;
  p.dataset.state = body.state;
  p.className = `freshness freshness-${body.state}`;
  const parts = [];
  if (body.state === 'no_consumer') {
    const head = document.createElement('strong');
    head.textContent = 'Counts may be out of date: ';
    parts.push(head);
    if (body.reportedAt) {
      const at = Date.parse(body.reportedAt);
      parts.push('no ingest has reported since ', timeElement(at), ` (${ago((serverNow() - at) / 1000)}), so ingest is not running`);
    } else parts.push('no ingest has reported its progress, so ingest is not running');
    parts.push(' and events published to the topics since are not counted.');
    if (body.countedThrough) parts.push(' The counts include everything published until ', ...countedThroughParts(body), '.');
  } else {
    if (body.countedThrough) parts.push('Counts include everything published until ', ...countedThroughParts(body));
    else parts.push('Ingest is running, but has not yet counted everything published up to any of its recent reports');
    if (body.state === 'behind') {
      const head = document.createElement('strong');
      head.textContent = `${body.countedThrough ? '; ingest is behind' : ': ingest is behind'}: ${numbers.format(body.lagEvents)} ${body.lagEvents === 1 ? 'event' : 'events'} published not yet counted`;
      parts.push(head, ' (it is catching up).');
    } else parts.push('.');
  }
  p.replaceChildren(...parts);
}

/** Keeps the freshness of the newest answer and shows it; the "… ago" is kept current. */
function noteFreshness(body) {
  if (!body?.freshness) return;
  freshness = { body: body.freshness, receivedAt: Date.now() };
  renderFreshness();
  clearInterval(freshnessTimer);
  // Not a live region: only the "… ago" changes; the state is announced with the range status.
  freshnessTimer = setInterval(renderFreshness, 5000);
}

function freshnessSummary() {
  if (!freshness) return '';
  const { body } = freshness;
  if (body.state === 'no_consumer') return ' Counts may be out of date: ingest is not running.';
  if (body.state === 'behind') return ` Ingest is behind: ${numbers.format(body.lagEvents)} events not yet counted.`;
  return '';
}

// ---- alerts --------------------------------------------------------------------------------

const ALERT_STATES = {
  ok: ['OK', 'Below the lines.'],
  warning: ['Warning', 'The rate reached the warning line.'],
  critical: ['Critical', 'The rate reached the critical line.'],
};
const SEVERITY = { critical: 2, warning: 1, ok: 0 };
const NOTIFICATION_WORDS = {
  pending: 'pending',
  retrying: 'retrying',
  delivered: 'delivered',
  failed: 'failed',
  not_configured: 'not sent (the rule has no webhook)',
};

function noteNames(row) {
  if (row.playbookId && row.playbookName) playbookTitles.set(row.playbookId, row.playbookName);
  if (row.campaignId && row.campaignName) campaignTitles.set(row.campaignId, row.campaignName);
}

/** The badge of an alert state: the same style as the rates' health badges, text and colour. */
function stateBadge(state) {
  const [text, meaning] = ALERT_STATES[state] ?? [state, ''];
  const span = block(text, `badge health-${state}`);
  span.title = meaning;
  return span;
}

/** "All outreach", "Playbook Onboarding", "Campaign Welcome (Onboarding)"; ids when the names are unknown. */
function scopeText(scope) {
  if (!scope?.playbookId) return 'All outreach';
  const playbook = playbookTitles.get(scope.playbookId) ?? scope.playbookId;
  if (!scope.campaignId) return `Playbook ${playbook}`;
  return `Campaign ${campaignTitles.get(scope.campaignId) ?? scope.campaignId} (${playbook})`;
}

/** "24h" → "last 24 hours". */
function windowText(window) {
  const match = /^(\d+)(m|h|d)$/.exec(window ?? '');
  if (!match) return window ?? '';
  const n = Number(match[1]);
  const unit = { m: 'minute', h: 'hour', d: 'day' }[match[2]];
  return `last ${numbers.format(n)} ${unit}${n === 1 ? '' : 's'}`;
}

/** "13 Jan 2026, 14:03:07", in the page's time zone. */
function dateTime(ms) {
  const date = new Date(ms);
  return `${date.toLocaleDateString(undefined, { dateStyle: 'medium' })}, ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

function timeCell(ms, text, sub) {
  const td = document.createElement('td');
  td.className = 'when';
  const time = document.createElement('time');
  time.dateTime = new Date(ms).toISOString();
  time.textContent = text;
  const main = block('', 'main');
  main.append(time);
  td.append(main);
  if (sub) td.append(block(sub, 'sub'));
  return td;
}

const rateWord = (id) => rateInfo(id)?.[4] ?? '';
const plural = (n, word) => `${numbers.format(n)} ${word}${n === 1 ? '' : 's'}`;

/** "retrying, 3 attempts, last: HTTP 500"; "delivered, 1 attempt"; "not sent (the rule has no webhook)". */
function notificationText(notification) {
  const words = [NOTIFICATION_WORDS[notification.status] ?? notification.status];
  if (notification.attempts > 0) words.push(plural(notification.attempts, 'attempt'));
  if (notification.lastError) words.push(`last: ${notification.lastError}`);
  return words.join(', ');
}

function renderActiveAlerts(body) {
  const section = $('#alerts');
  const active = body.rules
    .filter((rule) => rule.state === 'warning' || rule.state === 'critical')
    .sort((a, b) => SEVERITY[b.state] - SEVERITY[a.state] || (b.since ? Date.parse(b.since) : 0) - (a.since ? Date.parse(a.since) : 0));
  section.dataset.active = String(active.length);
  section.dataset.defaults = String(body.defaults);
  const worst = active[0]?.state ?? 'ok';
  section.className = `card alerts alerts-${worst}`;
  const defaults = body.defaults
    ? ' These are the default rules (you have set none): spam complaint rate and bounce rate over the last 24 hours at the documented lines, recorded but not notified.'
    : '';
  const summary = $('#alerts-summary');
  if (active.length === 0) {
    const all =
      body.rules.length === 0
        ? ' You have no alert rules.'
        : ` ${body.rules.length === 1 ? 'The rule is' : `All ${body.rules.length} rules are`} OK.`;
    summary.replaceChildren(block('No active alerts.', 'lead-text'), `${body.defaults ? '' : all}${defaults}`);
    $('#alerts-wrap').hidden = true;
    $('#alerts-active tbody').replaceChildren();
    return 0;
  }
  summary.textContent = `${active.length} of ${plural(body.rules.length, 'rule')} ${active.length === 1 ? 'is' : 'are'} in an alert state now.${defaults}`;
  $('#alerts-wrap').hidden = false;
  $('#alerts-active tbody').replaceChildren(
    ...active.map((rule) => {
      const tr = document.createElement('tr');
      tr.dataset.rule = rule.id;
      tr.dataset.state = rule.state;
      const state = document.createElement('td');
      state.className = 'state';
      state.append(stateBadge(rule.state));
      const host = rule.webhookUrl ? hostOf(rule.webhookUrl) : null;
      const since = rule.since ? Date.parse(rule.since) : null;
      tr.append(
        state,
        twoLines(chartLabel(rule.rate), `rule ${rule.id}; ${host ? `notifies ${host}` : 'not notified'}`, 'rate'),
        cell(scopeText(rule.scope), 'scope'),
        cell(windowText(rule.window), 'window'),
        since === null ? cell('–', 'when') : timeCell(since, clockTime(since)),
        twoLines(
          `warning at ${line(rule.warning)}, critical at ${line(rule.critical)}`,
          `judged from ${numbers.format(rule.minimumVolume)} ${rateWord(rule.rate)}`.trimEnd(),
          'lines',
        ),
      );
      return tr;
    }),
  );
  return active.length;
}

function hostOf(url) {
  try {
    return new URL(url).host;
  } catch {
    return null;
  }
}

function renderAlertHistory(events) {
  const tbody = $('#alert-events tbody');
  if (events.length === 0) return emptyRow(tbody, 5, 'No state changes in this range.');
  tbody.replaceChildren(
    ...events.map((event) => {
      const tr = document.createElement('tr');
      tr.dataset.id = event.id;
      tr.dataset.rule = event.ruleId;
      const at = Date.parse(event.occurredAt);
      const change = document.createElement('td');
      change.className = 'change-of-state';
      change.dataset.from = event.from;
      change.dataset.to = event.to;
      change.append(stateBadge(event.from), ' → ', stateBadge(event.to));
      const word = rateWord(event.rate.id);
      const rate = twoLines(
        event.rate.value === null ? `– (no messages ${word})` : percent(event.rate.value),
        parts(event.rate, word),
        'num value',
      );
      const { notification } = event;
      const where = [];
      if (notification.host) where.push(`to ${notification.host}`);
      if (notification.nextAttemptAt) where.push(`next attempt at ${clockTime(Date.parse(notification.nextAttemptAt))}`);
      const notify = twoLines(notificationText(notification), where.join('; '), `notification notify-${notification.status}`);
      notify.dataset.status = notification.status;
      notify.dataset.attempts = String(notification.attempts);
      tr.append(
        timeCell(at, dateTime(at)),
        twoLines(event.ruleId, `${chartLabel(event.rate.id)}; ${scopeText(event.scope)}; ${windowText(event.window.length)}`, 'rule'),
        change,
        rate,
        notify,
      );
      return tr;
    }),
  );
}

/**
 * Starts reading the alerts of the view's range (rules watch their own scopes: not filtered); never
 * rejects (a failure is shown in the alert areas).
 */
function fetchAlerts(view, signal) {
  return Promise.all([
    api('/v1/alerts/rules', { signal }).then((r) => r.json()),
    api(`/v1/alerts/events?${viewQuery(view, {}, { filtered: false })}`, { signal }).then((r) => r.json()),
  ]).then(
    ([rules, history]) => ({ rules, history }),
    (error) => ({ error }),
  );
}

/** Shows the alerts; answers a sentence for the status line ("" when they could not be read). */
function renderAlerts(answer) {
  const summary = $('#alerts-summary');
  summary.classList.remove('error');
  if (answer.error) {
    if (answer.error.status === 401) return '';
    // Nothing old stays on show as if it were current.
    $('#alerts').className = 'card alerts';
    delete $('#alerts').dataset.active;
    summary.textContent = `The alerts could not be loaded: ${answer.error.message}`;
    summary.classList.add('error');
    $('#alerts-wrap').hidden = true;
    $('#alerts-active tbody').replaceChildren();
    emptyRow($('#alert-events tbody'), 5, `The alert history could not be loaded: ${answer.error.message}`);
    return ' The alerts could not be loaded.';
  }
  const active = renderActiveAlerts(answer.rules);
  renderAlertHistory(answer.history.events);
  return active === 0 ? ' No active alerts.' : ` ${plural(active, 'active alert')}.`;
}

// ---- chart ---------------------------------------------------------------------------------

const INTERVAL_SECONDS = { hour: 3600, day: 86_400 };

function chartLabel(metric) {
  return METRICS.find(([key]) => key === metric)?.[1] ?? metric;
}

function bucketLabel(start, interval) {
  const date = new Date(start);
  return interval === 'hour'
    ? date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })
    : date.toLocaleDateString(undefined, { dateStyle: 'medium' });
}

/** The chart's numbers, as a table (in a <details> under the chart). */
function renderChartTable(body, isRate, word) {
  $('#chart-table-caption').textContent = `${chartLabel(body.metric)} per ${body.interval}`;
  $('#chart-table-value').textContent = isRate ? 'Rate' : 'Count';
  $('#chart-table-parts').textContent = isRate ? 'Parts' : '';
  $('#chart-table tbody').replaceChildren(
    ...body.points.map((point) => {
      const tr = document.createElement('tr');
      tr.dataset.start = point.start;
      tr.append(
        cell(bucketLabel(point.start, body.interval)),
        cell(isRate ? percent(point.value) : numbers.format(point.value), 'num value'),
        cell(isRate ? parts(point, word) : '', 'num parts'),
      );
      return tr;
    }),
  );
}

/** Draws the chart of the view on show; a newer call aborts this one, whose answer is then dropped. */
async function loadChart() {
  chartLoad?.abort();
  const load = new AbortController();
  chartLoad = load;
  const stale = () => chartLoad !== load;
  const view = currentView();
  const metric = $('#metric').value;
  const interval = $('#interval').value;
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const rateOf = rateInfo(metric);
  const isRate = Boolean(rateOf);
  $('#chart-status').textContent = 'Loading the chart…';
  try {
    const body = await (await api(`/v1/metrics/timeseries?${viewQuery(view, { metric, interval, tz })}`, { signal: load.signal })).json();
    if (stale()) return;
    noteFreshness(body);
    const xs = body.points.map((p) => Date.parse(p.start) / 1000);
    const ys = body.points.map((p) => p.value);
    const label = chartLabel(metric);
    const width = Math.max(320, $('#chart').clientWidth);
    const half = INTERVAL_SECONDS[interval] / 2;
    const series = [{}];
    const data = [xs, ys];
    let yRange;
    let yValues;
    if (isRate) {
      const [channel, key, , , word] = rateOf;
      const threshold = lastRates?.[channel]?.[key]?.threshold ?? null;
      const format = (_u, v) => (v === null || v === undefined ? '–' : percent(v));
      series.push({ label, stroke: '#0b57d0', width: 2, spanGaps: false, points: { show: true, size: 6 }, value: format });
      if (threshold) {
        series.push(
          {
            label: `Warning line (${line(threshold.warning)})`,
            stroke: '#8a5a00',
            width: 1.5,
            dash: [6, 4],
            points: { show: false },
            value: () => line(threshold.warning),
          },
          {
            label: `Critical line (${line(threshold.critical)})`,
            stroke: '#b3261e',
            width: 1.5,
            dash: [2, 3],
            points: { show: false },
            value: () => line(threshold.critical),
          },
        );
        data.push(
          xs.map(() => threshold.warning),
          xs.map(() => threshold.critical),
        );
      }
      const top = Math.max(0, ...ys.filter((v) => v !== null), threshold ? threshold.critical : 0);
      yRange = () => [0, top > 0 ? Math.min(1, top * 1.15) : 0.01];
      yValues = (_u, values) => values.map((v) => line(v));
      const numerator = body.points.reduce((sum, p) => sum + (p.numerator ?? 0), 0);
      const denominator = body.points.reduce((sum, p) => sum + (p.denominator ?? 0), 0);
      const empty = body.points.filter((p) => p.value === null).length;
      const overall =
        denominator === 0
          ? `no messages ${word}`
          : `${percent(numerator / denominator)} over the range (${numbers.format(numerator)} of ${numbers.format(denominator)} ${word})`;
      $('#chart').setAttribute(
        'aria-label',
        `${label} per ${interval}, a line over ${xs.length} ${interval}s: ${overall}${empty ? `; no value in ${empty} ${interval}s without messages ${word}` : ''}${
          threshold ? `. Warning line at ${line(threshold.warning)}, critical line at ${line(threshold.critical)}` : ''
        }. The numbers are in the table below the chart.`,
      );
      $('#chart-status').textContent = denominator === 0 ? 'Nothing to chart in this range.' : '';
      renderChartTable(body, true, word);
    } else {
      series.push({
        label,
        stroke: '#0b57d0',
        width: 1,
        fill: 'rgba(11,87,208,.55)',
        // Each bar starts at its bucket's start and covers most of the bucket.
        paths: window.uPlot.paths.bars({ size: [0.85, Infinity], align: 1 }),
        points: { show: false },
        value: (_u, v) => (v === null || v === undefined ? '–' : numbers.format(v)),
      });
      const top = Math.max(0, ...ys);
      yRange = () => [0, top > 0 ? top * 1.1 : 1];
      yValues = (_u, values) => values.map((v) => numbers.format(v));
      const total = ys.reduce((sum, v) => sum + v, 0);
      $('#chart').setAttribute(
        'aria-label',
        `${label} per ${interval}, one bar per ${interval}: ${numbers.format(total)} in total over ${xs.length} ${interval}s. The numbers are in the table below the chart.`,
      );
      $('#chart-status').textContent = total === 0 ? 'Nothing to chart in this range.' : '';
      renderChartTable(body, false);
    }
    chart?.destroy();
    chart = new window.uPlot(
      {
        width,
        height: 300,
        tzDate: (ts) => window.uPlot.tzDate(new Date(ts * 1000), tz),
        scales: {
          // Bars: room for the last bucket; a line: half a bucket of room at each end.
          x: { time: true, range: (_u, min, max) => (isRate ? [min - half, max + half] : [min, max + 2 * half]) },
          y: { range: yRange },
        },
        series,
        axes: [{}, { size: 70, values: yValues }],
      },
      data,
      $('#chart'),
    );
    const host = $('#chart');
    host.dataset.metric = metric;
    host.dataset.kind = isRate ? 'line' : 'bars';
  } catch (error) {
    if (stale()) return;
    if (error.status !== 401) $('#chart-status').textContent = `The chart could not be loaded: ${error.message}`;
  }
}

// ---- downloads -----------------------------------------------------------------------------

async function queueDownload(exportName, filters = {}) {
  if (!range) return;
  $('#downloads-status').textContent = 'Queueing the download…';
  try {
    await api('/v1/downloads', { method: 'POST', body: JSON.stringify({ export: exportName, from: range.from, to: range.to, filters }) });
    $('#downloads-status').textContent = 'Queued. It is listed below, with a Save button once it is ready.';
    await loadDownloads();
  } catch (error) {
    if (error.status !== 401) $('#downloads-status').textContent = `The download could not be queued: ${error.message}`;
  }
}

function describeFilters(job) {
  const filters = job.filters ?? {};
  const parts = [];
  if (filters.action) parts.push(filters.action === 'entered' ? 'entries' : 'exits');
  if (filters.campaignId) parts.push(campaignNames.get(filters.campaignId) ?? `campaign ${filters.campaignId}`);
  else if (filters.playbookId) parts.push(`playbook ${filters.playbookId}`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

async function saveFile(job) {
  const response = await api(`/v1/downloads/${encodeURIComponent(job.id)}/file`);
  const blob = await response.blob();
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = `${job.export}-${job.id}.csv`;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

async function loadDownloads() {
  clearTimeout(downloadsTimer);
  try {
    const body = await (await api('/v1/downloads')).json();
    const jobs = Array.isArray(body) ? body : (body.downloads ?? body.items ?? []);
    const tbody = $('#downloads tbody');
    if (jobs.length === 0) emptyRow(tbody, 5, 'No downloads yet.');
    else {
      tbody.replaceChildren(
        ...jobs.map((job) => {
          const tr = document.createElement('tr');
          tr.dataset.id = job.id;
          tr.dataset.status = job.status;
          tr.dataset.export = job.export;
          const fileCell = document.createElement('td');
          if (job.status === 'ready') {
            const button = document.createElement('button');
            button.type = 'button';
            button.className = 'quiet';
            button.textContent = 'Save CSV';
            button.addEventListener('click', () =>
              saveFile(job).catch((error) => ($('#downloads-status').textContent = `The file could not be saved: ${error.message}`)),
            );
            fileCell.append(button);
          } else if (job.status === 'failed') fileCell.textContent = job.error || 'failed';
          const when = job.from && job.to ? `${new Date(job.from).toLocaleString()} – ${new Date(job.to).toLocaleString()}` : '';
          tr.append(
            cell(`${EXPORT_NAMES[job.export] ?? job.export}${describeFilters(job)}`),
            cell(when),
            cell(job.status, `state-${job.status}`),
            cell(job.status === 'ready' ? numbers.format(job.rows ?? 0) : '', 'num'),
            fileCell,
          );
          return tr;
        }),
      );
    }
    if (jobs.some((job) => job.status === 'queued' || job.status === 'running')) downloadsTimer = setTimeout(loadDownloads, 1500);
  } catch (error) {
    if (error.status !== 401) $('#downloads-status').textContent = `Downloads could not be listed: ${error.message}`;
  }
}

// ---- loading -------------------------------------------------------------------------------

/**
 * Loads and draws the view picked in the form (and the filters): the tables, the alerts, then the
 * chart. A newer call aborts this one's requests, and nothing of this one is drawn after that, so
 * a slow answer of an older range never replaces a newer one.
 */
async function show(event) {
  event?.preventDefault();
  const picked = readRange();
  const status = $('#status');
  status.classList.remove('error');
  if (picked.error) {
    status.textContent = picked.error;
    status.classList.add('error');
    return;
  }
  viewLoad?.abort();
  chartLoad?.abort();
  const load = new AbortController();
  viewLoad = load;
  const { signal } = load;
  const stale = () => viewLoad !== load;
  range = picked;
  const view = currentView();
  if (viewInUrl) writeViewToUrl(view);
  delete document.body.dataset.loaded;
  renderFilter();
  $('#apply').disabled = true;
  status.textContent = 'Loading metrics…';
  const alerts = fetchAlerts(view, signal);
  try {
    const [campaigns, outreach, rates, perCampaign] = await Promise.all([
      api(`/v1/metrics/campaigns?${viewQuery(view)}`, { signal }).then((r) => r.json()),
      api(`/v1/metrics/outreach?${viewQuery(view, { compare: 'previous' })}`, { signal }).then((r) => r.json()),
      api(`/v1/metrics/rates?${viewQuery(view, { compare: 'previous' })}`, { signal }).then((r) => r.json()),
      api(`/v1/metrics/outreach/campaigns?${viewQuery(view)}`, { signal }).then((r) => r.json()),
    ]);
    if (stale()) return;
    lastRates = rates;
    noteFreshness(perCampaign);
    renderCampaigns(campaigns.rows);
    renderTruncated('#campaigns-truncated', campaigns);
    renderStatuses('#sms', SMS_STATUSES, outreach.sms, outreach.change?.sms, outreach.previous?.sms);
    renderStatuses('#email', EMAIL_STATUSES, outreach.email, outreach.change?.email, outreach.previous?.email);
    renderRates('#sms-rates', 'sms', rates);
    renderRates('#email-rates', 'email', rates);
    renderOutreachCampaigns(perCampaign.rows);
    renderTruncated('#outreach-campaigns-truncated', perCampaign);
    renderFilter(); // with the names the tables brought
    // After the tables: an alert's scope is named with their playbook and campaign names.
    const alertsAnswer = await alerts;
    if (stale()) return;
    const alertsSaid = renderAlerts(alertsAnswer);
    const before = outreach.previous
      ? `, compared with ${new Date(outreach.previous.from).toLocaleString()} to ${new Date(outreach.previous.to).toLocaleString()}`
      : '';
    const only = FILTERS.some((name) => view[name]) ? ` for ${filterText(view)}` : '';
    status.textContent = `Showing ${rangeText(view)}${only}${before}.${freshnessSummary()}${alertsSaid}`;
    await loadChart();
    if (stale()) return;
    // Tables and chart drawn (tests wait for this).
    document.body.dataset.loaded = `${view.from}|${view.to}`;
  } catch (error) {
    if (stale()) return;
    if (error.status !== 401) {
      status.textContent = `The metrics could not be loaded: ${error.message}`;
      status.classList.add('error');
    }
    const alertsAnswer = await alerts;
    if (!stale()) renderAlerts(alertsAnswer);
  } finally {
    if (!stale()) $('#apply').disabled = false;
    viewLoadsEnded += 1;
    document.body.dataset.viewLoads = String(viewLoadsEnded);
  }
}

/** The user changed the view: from now on the address follows it. */
function userShow(event) {
  viewInUrl = true;
  $('#view-note').hidden = true; // it was about the link
  return show(event);
}

function start() {
  const now = new Date();
  $('#tz-name').textContent = `${Intl.DateTimeFormat().resolvedOptions().timeZone} (${offsetLabel(now)})`;
  const group = (label, metrics) => {
    const optgroup = document.createElement('optgroup');
    optgroup.label = label;
    optgroup.append(...metrics.map(([value, text]) => new Option(text, value)));
    return optgroup;
  };
  $('#metric').replaceChildren(group('Counts per bucket (bars)', COUNT_METRICS), group('Rates (line)', RATE_METRICS));
  renderStatuses('#sms', SMS_STATUSES, {});
  renderStatuses('#email', EMAIL_STATUSES, {});
  // The view a link asks for (an alert notification's: its window and scope), or the last 7 days.
  const asked = readViewFromUrl();
  if (asked.view.from) pinRange(asked.view);
  else preset('7d');
  filters = Object.fromEntries(FILTERS.filter((name) => asked.view[name]).map((name) => [name, asked.view[name]]));
  viewInUrl = VIEW_PARAMS.some((name) => new URLSearchParams(location.search).has(name));
  $('#view-note').textContent = asked.notes.join(' ');
  $('#view-note').hidden = asked.notes.length === 0;
  $('#range-form').addEventListener('submit', userShow);
  for (const button of document.querySelectorAll('[data-preset]'))
    button.addEventListener('click', () => {
      preset(button.dataset.preset);
      userShow();
    });
  $('#clear-filter').addEventListener('click', () => {
    filters = {};
    userShow();
  });
  for (const button of document.querySelectorAll('[data-export]'))
    // The table's own button queues it as on show (filtered too); "all assignments" and "all outreach events" are all.
    button.addEventListener('click', () => queueDownload(button.dataset.export, 'followsView' in button.dataset ? { ...filters } : {}));
  $('#metric').addEventListener('change', () => range && loadChart());
  $('#interval').addEventListener('change', () => range && loadChart());
  $('#sign-out').addEventListener('click', () => signOut());
  $('#sign-in-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const problem = signIn($('#token-input').value.trim());
    if (problem) $('#sign-in-error').textContent = problem;
    else {
      show();
      loadDownloads();
    }
  });

  const fragment = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fragment) history.replaceState(null, '', location.pathname + location.search); // keep the token out of history
  const saved = fragment ?? sessionStorage.getItem(TOKEN_KEY);
  if (saved && !signIn(saved)) {
    show();
    loadDownloads();
  } else signOut(saved ? 'The saved token is no longer valid; please sign in again.' : '');
}

start();
