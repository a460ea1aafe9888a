// @ts-check
/**
 * The summary strip at the top: the figures a sender looks for first, each with its health (a
 * rate's, against its lines), its change against the previous period and a small trend over the
 * range. Counts of messages and the rates come from the answers the details are drawn from
 * (/v1/metrics/outreach and /v1/metrics/rates, compare=previous); entries and exits from the
 * time series (exact totals of the range, never a possibly truncated table's sum); each trend is
 * the figure's time series. Clicking a figure shows its detail and charts it.
 */
import { read } from './api.js';
import { $, block } from './dom.js';
import { countChange, numbers, percent, rateChange } from './format.js';
import { badge, chartLabel, judged, rateInfo } from './rates.js';
import { timeZone, viewQuery } from './range.js';

/** @typedef {import('./types.js').OutreachAnswer} OutreachAnswer */
/** @typedef {import('./types.js').RatesAnswer} RatesAnswer */
/** @typedef {import('./types.js').TimeseriesAnswer} TimeseriesAnswer */
/** @typedef {import('./types.js').Change} Change */
/** @typedef {import('./range.js').View} View */

/** The figures, in the strip's order: [time-series metric, the detail it opens]. @type {[string, string][]} */
export const SUMMARY_FIGURES = [
  ['entries', '#campaigns-card'],
  ['exits', '#campaigns-card'],
  ['sms.sent', '#sms tr[data-status="sent"]'],
  ['sms.failed', '#sms tr[data-status="failed"]'],
  ['email.sent', '#email tr[data-status="sent"]'],
  ['email.delivered', '#email tr[data-status="delivered"]'],
  ['email.bounceRate', '#email-rates tr[data-rate="email.bounceRate"]'],
  ['email.blockRate', '#email-rates tr[data-rate="email.blockRate"]'],
  ['email.spamComplaintRate', '#email-rates tr[data-rate="email.spamComplaintRate"]'],
  ['sms.failureRate', '#sms-rates tr[data-rate="sms.failureRate"]'],
];

/** @param {string} metric */
const tileOf = (metric) => $(`#summary [data-metric="${metric}"]`);

/** Interval of the trends: hours for a range of up to three days, else days. @param {View} view */
const trendInterval = (view) => (Date.parse(view.to) - Date.parse(view.from) <= 3 * 86_400_000 ? 'hour' : 'day');

/**
 * An inline SVG line of the points (null points leave a gap), scaled to the box.
 * @param {(number | null)[]} values
 */
function sparkline(values) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 100 24');
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('aria-hidden', 'true');
  svg.classList.add('spark');
  const known = values.filter((v) => v !== null);
  const top = Math.max(0, ...known);
  const step = values.length > 1 ? 100 / (values.length - 1) : 0;
  /** @type {string[][]} */
  const runs = [[]];
  values.forEach((v, i) => {
    if (v === null) runs.push([]);
    else runs.at(-1)?.push(`${(i * step).toFixed(2)},${(22 - (top > 0 ? (v / top) * 20 : 0)).toFixed(2)}`);
  });
  for (const run of runs.filter((r) => r.length > 0)) {
    const line = document.createElementNS(ns, run.length > 1 ? 'polyline' : 'circle');
    if (run.length > 1) line.setAttribute('points', run.join(' '));
    else {
      const [x = '0', y = '0'] = (run[0] ?? '').split(',');
      Object.entries({ cx: x, cy: y, r: '1.5' }).forEach(([name, value]) => line.setAttribute(name, value));
    }
    svg.append(line);
  }
  return svg;
}

/**
 * One figure: its label, value, health (rates), change and the place of its trend.
 * @param {string} metric
 * @param {string} value
 * @param {string} change
 * @param {import('./types.js').JudgedRate} [rate]
 */
function fillTile(metric, value, change, rate) {
  const tile = tileOf(metric);
  tile.dataset.state = 'loaded';
  tile.querySelector('.figure-value')?.replaceChildren(value);
  tile.querySelector('.figure-change')?.replaceChildren(change);
  const health = tile.querySelector('.figure-health');
  health?.replaceChildren(...(rate ? [badge(rate)] : []));
  tile.dataset.health = rate?.health ?? '';
}

/** @param {number} total @param {number} before */
const changeOf = (total, before) => ({ absolute: total - before, relative: before === 0 ? null : (total - before) / before });

/** @param {TimeseriesAnswer['points']} points */
const sum = (points) => points.reduce((total, point) => total + (point.value ?? 0), 0);

/** Builds the strip's tiles once, each a button that shows its detail and charts it. @param {(metric: string) => void} chart */
export function buildSummary(chart) {
  $('#summary-figures').replaceChildren(
    ...SUMMARY_FIGURES.map(([metric, detail]) => {
      const li = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'figure';
      button.dataset.metric = metric;
      button.append(
        block(chartLabel(metric), 'figure-label'),
        block('…', 'figure-value'),
        block('', 'figure-health'),
        block('', 'figure-change'),
        block('', 'figure-trend'),
      );
      button.addEventListener('click', () => {
        const target = $(detail);
        const group = target.closest('details');
        if (group instanceof HTMLDetailsElement) group.open = true;
        target.scrollIntoView({ block: 'center' });
        chart(metric);
      });
      li.append(button);
      return li;
    }),
  );
}

/**
 * The figures of the answers the details are drawn from.
 * @param {OutreachAnswer} outreach
 * @param {RatesAnswer} rates
 */
export function renderSummaryFigures(outreach, rates) {
  for (const [metric] of SUMMARY_FIGURES) {
    const info = rateInfo(metric);
    if (info) {
      const rate = judged(rates, info);
      const change = rates.change ? /** @type {Record<string, Change>} */ (rates.change[info.channel])[info.key] : undefined;
      fillTile(metric, percent(rate.value), rates.change ? rateChange(change) : '', rate);
      continue;
    }
    const [channel, key = ''] = metric.split('.');
    if (channel !== 'sms' && channel !== 'email') continue;
    const counts = /** @type {Record<string, number>} */ (outreach[channel]);
    const changes = outreach.change ? /** @type {Record<string, Change>} */ (outreach.change[channel]) : undefined;
    fillTile(metric, numbers.format(counts[key] ?? 0), changes ? countChange(changes[key]) : '');
  }
}

/**
 * Entries and exits (exact totals from their time series, against the previous period's) and every
 * figure's trend: one time-series request per figure.
 * @param {View} view
 * @param {AbortSignal} signal
 */
export async function loadSummaryTrends(view, signal) {
  const interval = trendInterval(view);
  const tz = timeZone;
  await Promise.all(
    SUMMARY_FIGURES.map(async ([metric]) => {
      const counted = metric === 'entries' || metric === 'exits';
      /** @type {Record<string, string>} */
      const extra = counted ? { metric, interval, tz, compare: 'previous' } : { metric, interval, tz };
      const body = /** @type {TimeseriesAnswer} */ (await read(`/v1/metrics/timeseries?${viewQuery(view, extra)}`, signal));
      if (signal.aborted) return;
      if (counted) {
        const total = sum(body.points);
        fillTile(metric, numbers.format(total), body.previous ? countChange(changeOf(total, sum(body.previous.points))) : '');
        tileOf(metric).dataset.value = String(total);
      }
      const trend = tileOf(metric).querySelector('.figure-trend');
      trend?.replaceChildren(sparkline(body.points.map((point) => point.value)));
      trend?.setAttribute('title', `per ${interval}, ${body.points.length} ${interval}s`);
    }),
  );
}
