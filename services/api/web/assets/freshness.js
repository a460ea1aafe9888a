// @ts-check
/** How complete the counts are: the freshness line over the tables, kept current. */
import { $, timeElement } from './dom.js';
import { ago, clockTime, numbers } from './format.js';

/** @typedef {import('./types.js').Freshness} Freshness */

/** The freshness of the last answer, and when (this page's clock) it arrived. @type {{ body: Freshness, receivedAt: number } | null} */
let freshness = null;
/** @type {ReturnType<typeof setInterval> | undefined} */
let freshnessTimer;

/**
 * The server's "now" as of this moment: countedThrough + lagSeconds was the server's clock when it
 * answered, so a "… ago" does not depend on this computer's clock being right.
 * @param {{ body: Freshness, receivedAt: number }} current
 */
function serverNow({ body, receivedAt }) {
  const elapsed = Date.now() - receivedAt;
  if (body.countedThrough !== null && body.lagSeconds !== null) return Date.parse(body.countedThrough) + body.lagSeconds * 1000 + elapsed;
  return Date.now();
}

/**
 * The <time> of an instant and how long ago it was.
 * @param {{ body: Freshness, receivedAt: number }} current
 * @param {number} at
 * @returns {(string | Node)[]}
 */
const when = (current, at) => [timeElement(at, clockTime(at)), ` (${ago((serverNow(current) - at) / 1000)})`];

function renderFreshness() {
  const p = $('#freshness');
  const current = freshness;
  if (!current) {
    p.hidden = true;
    return;
  }
  const { body } = current;
  p.hidden = false;
  p.dataset.state = body.state;
  p.className = `freshness freshness-${body.state}`;
  /** @type {(string | Node)[]} */
  const parts = [];
  if (body.state === 'no_consumer') {
    const head = document.createElement('strong');
    head.textContent = 'Counts may be out of date: ';
    parts.push(head);
    if (body.reportedAt) {
      parts.push('no ingest has reported since ', ...when(current, Date.parse(body.reportedAt)), ', so ingest is not running');
    } else parts.push('no ingest has reported its progress, so ingest is not running');
    parts.push(' and events published to the topics since are not counted.');
    if (body.countedThrough)
      parts.push(' The counts include everything published until ', ...when(current, Date.parse(body.countedThrough)), '.');
  } else {
    if (body.countedThrough) parts.push('Counts include everything published until ', ...when(current, Date.parse(body.countedThrough)));
    else parts.push('Ingest is running, but has not yet counted everything published up to any of its recent reports');
    if (body.state === 'behind') {
      const head = document.createElement('strong');
      head.textContent = `${body.countedThrough ? '; ingest is behind' : ': ingest is behind'}: ${numbers.format(body.lagEvents)} ${body.lagEvents === 1 ? 'event' : 'events'} published not yet counted`;
      parts.push(head, ' (it is catching up).');
    } else parts.push('.');
  }
  p.replaceChildren(...parts);
}

/**
 * Keeps the freshness of the newest answer and shows it; the "… ago" is kept current.
 * @param {{ freshness?: Freshness } | undefined} body
 */
export function noteFreshness(body) {
  if (!body?.freshness) return;
  freshness = { body: body.freshness, receivedAt: Date.now() };
  renderFreshness();
  clearInterval(freshnessTimer);
  // Not a live region: only the "… ago" changes; the state is announced with the range status.
  freshnessTimer = setInterval(renderFreshness, 5000);
}

/** Forgets the freshness (signed out). */
export function clearFreshness() {
  clearInterval(freshnessTimer);
  freshness = null;
}

/** A sentence for the status line when the counts may be incomplete; '' otherwise. */
export function freshnessSummary() {
  if (!freshness) return '';
  const { body } = freshness;
  if (body.state === 'no_consumer') return ' Counts may be out of date: ingest is not running.';
  if (body.state === 'behind') return ` Ingest is behind: ${numbers.format(body.lagEvents)} events not yet counted.`;
  return '';
}
