// @ts-check
/** The alerts: the rules in an alert state now, and the state changes in the range. */
import { currentToken, messageOf, read, statusOf } from './api.js';
import { $, block, cell, emptyRow, timeElement, twoLines } from './dom.js';
import { clockTime, dateTime, line, numbers, percent, plural } from './format.js';
import { scopeText } from './names.js';
import { viewQuery } from './range.js';
import { chartLabel, parts, rateWord } from './rates.js';

/** @typedef {import('./types.js').AlertState} AlertState */
/** @typedef {{ rules: import('./types.js').RulesAnswer, history: import('./types.js').AlertEventsAnswer }} AlertsRead */
/** @typedef {AlertsRead | { error: unknown }} AlertsAnswer */

/** @type {Record<AlertState, [string, string]>} */
const ALERT_STATES = {
  ok: ['OK', 'Below the lines.'],
  warning: ['Warning', 'The rate reached the warning line.'],
  critical: ['Critical', 'The rate reached the critical line.'],
};
/** @type {Record<AlertState, number>} */
const SEVERITY = { critical: 2, warning: 1, ok: 0 };
/** @type {Record<import('./types.js').AlertEvent['notification']['status'], string>} */
const NOTIFICATION_WORDS = {
  pending: 'pending',
  retrying: 'retrying',
  delivered: 'delivered',
  failed: 'failed',
  not_configured: 'not sent (the rule has no webhook)',
};

/**
 * The badge of an alert state: the same style as the rates' health badges, text and colour.
 * @param {AlertState} state
 */
function stateBadge(state) {
  const [text, meaning] = ALERT_STATES[state] ?? [state, ''];
  const span = block(text, `badge health-${state}`);
  span.title = meaning;
  return span;
}

/**
 * "24h" → "last 24 hours".
 * @param {string | undefined} window
 */
function windowText(window) {
  const match = /^(\d+)(m|h|d)$/.exec(window ?? '');
  if (!match) return window ?? '';
  const n = Number(match[1]);
  const unit = { m: 'minute', h: 'hour', d: 'day' }[/** @type {'m' | 'h' | 'd'} */ (match[2])];
  return `last ${numbers.format(n)} ${unit}${n === 1 ? '' : 's'}`;
}

/**
 * @param {number} ms
 * @param {string} text
 */
function timeCell(ms, text) {
  const td = document.createElement('td');
  td.className = 'when';
  const main = block('', 'main');
  main.append(timeElement(ms, text));
  td.append(main);
  return td;
}

/**
 * "retrying, 3 attempts, last: HTTP 500"; "delivered, 1 attempt"; "not sent (the rule has no webhook)".
 * @param {import('./types.js').AlertEvent['notification']} notification
 */
function notificationText(notification) {
  const words = [NOTIFICATION_WORDS[notification.status] ?? notification.status];
  if (notification.attempts > 0) words.push(plural(notification.attempts, 'attempt'));
  if (notification.lastError) words.push(`last: ${notification.lastError}`);
  return words.join(', ');
}

/** @param {string} url */
function hostOf(url) {
  try {
    return new URL(url).host;
  } catch {
    return null;
  }
}

/**
 * The rules in the warning or critical state, most severe first; answers how many.
 * @param {import('./types.js').RulesAnswer} body
 */
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

/** @param {import('./types.js').AlertEvent[]} events */
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
 * The scopes a JWT claims (`scope`, space-separated, or `scp`, a string or an array), unverified:
 * the API verifies the token and refuses what it may not do; the page only shows what it may.
 * A token with neither claim reads only. (An API key is not a JWT: it names no scope here.)
 * @param {string | null} jwt
 * @returns {string[]}
 */
export function tokenScopes(jwt) {
  /** @param {unknown} claim */
  const words = (claim) =>
    typeof claim === 'string' ? claim.split(/[ \t]+/) : Array.isArray(claim) ? claim.filter((word) => typeof word === 'string') : [];
  try {
    const payload = (jwt?.split('.')[1] ?? '').replace(/-/g, '+').replace(/_/g, '/');
    /** @type {unknown} */
    const parsed = JSON.parse(atob(payload));
    const claims = /** @type {{ scope?: unknown, scp?: unknown }} */ (parsed);
    if (claims.scope === undefined && claims.scp === undefined) return ['metrics:read'];
    return [...words(claims.scope), ...words(claims.scp)].filter((word) => word !== '');
  } catch {
    return [];
  }
}

/**
 * Says whether this token may change the rules (alerts:write), or sees them read-only; the section
 * carries it as data-editable.
 */
function showRuleAccess() {
  const section = $('#alerts');
  const editable = tokenScopes(currentToken()).includes('alerts:write');
  section.dataset.editable = String(editable);
  let note = section.querySelector('#alerts-access');
  if (!note) {
    note = document.createElement('p');
    note.id = 'alerts-access';
    note.className = 'hint';
    section.append(note);
  }
  note.textContent = editable
    ? 'Your token may change the alert rules (alerts:write): PUT /v1/alerts/rules, described in the API docs at /docs.'
    : 'Read-only: your token does not carry the alerts:write scope, so it cannot change the alert rules.';
}

/**
 * Starts reading the alerts of the view's range (rules watch their own scopes: not filtered); never
 * rejects (a failure is shown in the alert areas).
 * @param {import('./range.js').View} view
 * @param {AbortSignal} signal
 * @returns {Promise<AlertsAnswer>}
 */
export function fetchAlerts(view, signal) {
  return Promise.all([
    read('/v1/alerts/rules', signal),
    read(`/v1/alerts/events?${viewQuery(view, {}, { filtered: false })}`, signal),
  ]).then(
    ([rules, history]) => /** @type {AlertsRead} */ ({ rules, history }),
    (/** @type {unknown} */ error) => ({ error }),
  );
}

/**
 * Shows the alerts; answers a sentence for the status line ("" when they could not be read).
 * @param {AlertsAnswer} answer
 */
export function renderAlerts(answer) {
  const summary = $('#alerts-summary');
  summary.classList.remove('error');
  if ('error' in answer) {
    if (statusOf(answer.error) === 401) return '';
    const message = messageOf(answer.error);
    // Nothing old stays on show as if it were current.
    $('#alerts').className = 'card alerts';
    delete $('#alerts').dataset.active;
    summary.textContent = `The alerts could not be loaded: ${message}`;
    summary.classList.add('error');
    $('#alerts-wrap').hidden = true;
    $('#alerts-active tbody').replaceChildren();
    emptyRow($('#alert-events tbody'), 5, `The alert history could not be loaded: ${message}`);
    return ' The alerts could not be loaded.';
  }
  showRuleAccess();
  const active = renderActiveAlerts(answer.rules);
  renderAlertHistory(answer.history.events);
  return active === 0 ? ' No active alerts.' : ` ${plural(active, 'active alert')}.`;
}
