// @ts-check
/** The chart of one metric over the view's range (uPlot), and its numbers as a table. */
import { messageOf, read, statusOf } from './api.js';
import { $, cell } from './dom.js';
import { line, numbers, percent } from './format.js';
import { noteFreshness } from './freshness.js';
import { currentView, timeZone, viewQuery } from './range.js';
import { chartLabel, judged, parts, rateInfo } from './rates.js';

/** @typedef {import('./types.js').TimeseriesAnswer} TimeseriesAnswer */
/** @typedef {import('uplot')} UPlot */
/** @typedef {typeof import('uplot')} UPlotClass */

/** uPlot, loaded by its own <script> (the vendored IIFE build). */
const uPlot = () => /** @type {{ uPlot: UPlotClass }} */ (/** @type {unknown} */ (window)).uPlot;

/** @type {Record<string, number>} */
const INTERVAL_SECONDS = { hour: 3600, day: 86_400 };

/** The chart's load; a newer one (another metric, another view) aborts it. @type {AbortController | null} */
let chartLoad = null;
/** @type {UPlot | null} */
let chart = null;
/** The last rates answer: the chart draws a rate's warning and critical lines from it. @type {import('./types.js').RatesAnswer | null} */
let lastRates = null;

/** @param {import('./types.js').RatesAnswer} rates */
export function noteRates(rates) {
  lastRates = rates;
}

/** Stops the chart's load on show, if any. */
export const abortChart = () => chartLoad?.abort();

/**
 * @param {string} start
 * @param {string} interval
 */
function bucketLabel(start, interval) {
  const date = new Date(start);
  return interval === 'hour'
    ? date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })
    : date.toLocaleDateString(undefined, { dateStyle: 'medium' });
}

/**
 * The chart's numbers, as a table (in a <details> under the chart).
 * @param {TimeseriesAnswer} body
 * @param {string | null} word a rate's denominator word; null for a count
 */
function renderChartTable(body, word) {
  const isRate = word !== null;
  $('#chart-table-caption').textContent = `${chartLabel(body.metric)} per ${body.interval}`;
  $('#chart-table-value').textContent = isRate ? 'Rate' : 'Count';
  $('#chart-table-parts').textContent = isRate ? 'Parts' : '';
  $('#chart-table tbody').replaceChildren(
    ...body.points.map((point) => {
      const tr = document.createElement('tr');
      tr.dataset.start = point.start;
      tr.append(
        cell(bucketLabel(point.start, body.interval)),
        cell(isRate ? percent(point.value) : numbers.format(point.value ?? 0), 'num value'),
        cell(isRate ? parts(point, word) : '', 'num parts'),
      );
      return tr;
    }),
  );
}

/** Draws the chart of the view on show; a newer call aborts this one, whose answer is then dropped. */
export async function loadChart() {
  chartLoad?.abort();
  const load = new AbortController();
  chartLoad = load;
  const stale = () => chartLoad !== load;
  const view = currentView();
  const metric = $('#metric', HTMLSelectElement).value;
  const interval = $('#interval', HTMLSelectElement).value;
  const tz = timeZone;
  const rateOf = rateInfo(metric);
  const host = $('#chart');
  $('#chart-status').textContent = 'Loading the chart…';
  try {
    const path = `/v1/metrics/timeseries?${viewQuery(view, { metric, interval, tz })}`;
    const body = /** @type {TimeseriesAnswer} */ (await read(path, load.signal));
    if (stale()) return;
    noteFreshness(body);
    const xs = body.points.map((p) => Date.parse(p.start) / 1000);
    const ys = body.points.map((p) => p.value);
    const label = chartLabel(metric);
    const width = Math.max(240, host.clientWidth);
    const half = (INTERVAL_SECONDS[interval] ?? 0) / 2;
    /** @type {import('uplot').Series[]} */
    const series = [{}];
    /** @type {(number | null)[][]} */
    const data = [xs, ys];
    /** @type {import('uplot').Scale['range']} */
    let yRange;
    /** @type {import('uplot').Axis['values']} */
    let yValues;
    if (rateOf) {
      const { word } = rateOf;
      const threshold = lastRates ? judged(lastRates, rateOf).threshold : null;
      series.push({
        label,
        stroke: '#0b57d0',
        width: 2,
        spanGaps: false,
        points: { show: true, size: 6 },
        value: (_u, v) => (v === null || v === undefined ? '–' : percent(v)),
      });
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
      host.setAttribute(
        'aria-label',
        `${label} per ${interval}, a line over ${xs.length} ${interval}s: ${overall}${empty ? `; no value in ${empty} ${interval}s without messages ${word}` : ''}${
          threshold ? `. Warning line at ${line(threshold.warning)}, critical line at ${line(threshold.critical)}` : ''
        }. The numbers are in the table below the chart.`,
      );
      $('#chart-status').textContent = denominator === 0 ? 'Nothing to chart in this range.' : '';
      renderChartTable(body, word);
    } else {
      series.push({
        label,
        stroke: '#0b57d0',
        width: 1,
        fill: 'rgba(11,87,208,.55)',
        // Each bar starts at its bucket's start and covers most of the bucket.
        paths: uPlot().paths.bars?.({ size: [0.85, Infinity], align: 1 }),
        points: { show: false },
        value: (_u, v) => (v === null || v === undefined ? '–' : numbers.format(v)),
      });
      const counts = ys.map((v) => v ?? 0);
      const top = Math.max(0, ...counts);
      yRange = () => [0, top > 0 ? top * 1.1 : 1];
      yValues = (_u, values) => values.map((v) => numbers.format(v));
      const total = counts.reduce((sum, v) => sum + v, 0);
      host.setAttribute(
        'aria-label',
        `${label} per ${interval}, one bar per ${interval}: ${numbers.format(total)} in total over ${xs.length} ${interval}s. The numbers are in the table below the chart.`,
      );
      $('#chart-status').textContent = total === 0 ? 'Nothing to chart in this range.' : '';
      renderChartTable(body, null);
    }
    chart?.destroy();
    const UPlotClass = uPlot();
    chart = new UPlotClass(
      {
        width,
        height: 300,
        tzDate: (ts) => UPlotClass.tzDate(new Date(ts * 1000), tz),
        scales: {
          // Bars: room for the last bucket; a line: half a bucket of room at each end.
          x: { time: true, range: (_u, min, max) => (rateOf ? [min - half, max + half] : [min, max + 2 * half]) },
          y: { range: yRange },
        },
        series,
        axes: [{}, { size: 70, values: yValues }],
      },
      /** @type {import('uplot').AlignedData} */ (data),
      host,
    );
    host.dataset.metric = metric;
    host.dataset.kind = rateOf ? 'line' : 'bars';
  } catch (error) {
    if (stale()) return;
    if (statusOf(error) !== 401) $('#chart-status').textContent = `The chart could not be loaded: ${messageOf(error)}`;
  }
}
