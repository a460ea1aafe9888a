// @ts-check
/**
 * How exact the counts on the page are. Every answer says it (`precision`): to the millisecond, or —
 * where the range starts or ends before the raw-event retention cut-off — to whole 15-minute
 * buckets, naming the instants it really counts from and to. The page says so above the figures,
 * never showing a widened range as if it were the one asked.
 */
import { $ } from './dom.js';
import { dateTime } from './format.js';

/** @typedef {import('./types.js').CampaignsAnswer['precision']} Precision */
/** @typedef {{ precision: Precision, previous?: { precision: Precision } }} WithPrecision */

/**
 * The widened window among the answers' (the same range gives the same window in each), if any.
 * @param {(Precision | undefined)[]} list
 * @returns {{ from: string, to: string } | undefined}
 */
function widened(list) {
  for (const precision of list) {
    if (precision?.edges === '15m' && precision.from && precision.to) return { from: precision.from, to: precision.to };
  }
  return undefined;
}

/** @param {{ from: string, to: string }} window */
const between = (window) => `from ${dateTime(Date.parse(window.from))} to ${dateTime(Date.parse(window.to))}`;

/**
 * Shows (or hides) the note on the counts' precision of the current view.
 * @param {WithPrecision[]} answers
 */
export function renderPrecision(answers) {
  const note = $('#precision');
  const current = widened(answers.map((answer) => answer.precision));
  const previous = widened(answers.map((answer) => answer.previous?.precision));
  if (!current && !previous) {
    note.hidden = true;
    note.textContent = '';
    delete note.dataset.edges;
    return;
  }
  const parts = [];
  if (current) parts.push(`The counts are ${between(current)}`);
  if (previous) parts.push(`${current ? 'the previous period’s' : 'The previous period’s counts are'} ${between(previous)}`);
  note.textContent = `${parts.join('; ')}: raw events before the retention cut-off are no longer kept, so the range’s edges are whole 15-minute buckets.`;
  note.dataset.edges = '15m';
  note.hidden = false;
}
