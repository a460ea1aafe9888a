// @ts-check
/**
 * The Assignments and Sending page: native ES modules, no framework, no build step. Every number
 * comes from the API with the bearer token kept in this tab's sessionStorage; the words for
 * statuses and rates come from the server (./vocabulary.js). This module loads the view and wires
 * the page's controls.
 */
import { fetchAlerts, renderAlerts } from './alerts.js';
import { messageOf, onTokenRefused, read, statusOf } from './api.js';
import { savedToken, signIn, signOut } from './auth.js';
import { abortChart, loadChart, noteRates } from './chart.js';
import { $, $$ } from './dom.js';
import { loadDownloads, queueDownload } from './downloads.js';
import { freshnessSummary, noteFreshness } from './freshness.js';
import { renderPrecision } from './precision.js';
import { filterText } from './names.js';
import {
  currentView,
  filters,
  isFiltered,
  offsetLabel,
  pinRange,
  preset,
  range,
  rangeText,
  readRange,
  setFilters,
  setRange,
  setTimeZone,
  timeZone,
  viewQuery,
} from './range.js';
import { COUNT_METRICS, RATE_METRICS, renderRates } from './rates.js';
import { buildSummary, loadSummaryTrends, renderSummaryFigures } from './summary.js';
import { renderCampaigns, renderOutreachCampaigns, renderStatuses, renderTruncated } from './tables.js';
import { addressHasView, FILTERS, readViewFromUrl, writeViewToUrl } from './view-url.js';

/** @typedef {import('./view-url.js').AskedView} AskedView */
import { EMAIL_STATUSES, SMS_STATUSES } from './vocabulary.js';

/** Whether the address follows the view: once it held one, or the user changed the view. */
let viewInUrl = false;
/** The load of the view on show; a newer one aborts it, and an older one's answers are never drawn. @type {AbortController | null} */
let viewLoad = null;
/** View loads ended, drawn or not (tests wait for this). */
let viewLoadsEnded = 0;

/** @typedef {import('./types.js').CampaignsAnswer} CampaignsAnswer */
/** @typedef {import('./types.js').OutreachAnswer} OutreachAnswer */
/** @typedef {import('./types.js').RatesAnswer} RatesAnswer */
/** @typedef {import('./types.js').OutreachCampaignsAnswer} OutreachCampaignsAnswer */

function renderFilter() {
  const limited = isFiltered(filters);
  $('#view-filter').hidden = !limited;
  $('#view-filter-text').textContent = limited ? `Only ${filterText(filters)}.` : '';
}

/** The chart's part of the view, for the address. @returns {AskedView} */
const chartView = () => ({
  metric: $('#metric', HTMLSelectElement).value,
  interval: $('#interval', HTMLSelectElement).value,
  tz: timeZone,
});

/** The browser's zone, or the one a link asked for (the chart's buckets and the trends). */
function showZone() {
  const browser = Intl.DateTimeFormat().resolvedOptions().timeZone;
  $('#tz-name').textContent = `${browser} (${offsetLabel(new Date())})`;
  $('#chart-zone').textContent = timeZone === browser ? '' : ` The chart's buckets are in ${timeZone}, as the link asked.`;
}

/**
 * Takes the view a link (or a history entry) asks for into the form, the filters and the chart's controls.
 * @param {{ view: AskedView, notes: string[] }} asked
 */
function takeView(asked) {
  const { from, to, metric, interval, tz } = asked.view;
  if (from && to) pinRange({ from, to });
  else preset('7d');
  setFilters(Object.fromEntries(FILTERS.filter((name) => asked.view[name]).map((name) => [name, asked.view[name]])));
  const notes = [...asked.notes];
  const select = $('#metric', HTMLSelectElement);
  if (metric && [...select.options].some((option) => option.value === metric)) select.value = metric;
  else if (metric) notes.push('The link’s chart metric (metric) is not one the chart draws.');
  $('#interval', HTMLSelectElement).value = interval ?? 'day';
  setTimeZone(tz);
  showZone();
  $('#view-note').textContent = notes.join(' ');
  $('#view-note').hidden = notes.length === 0;
}

/**
 * Loads and draws the view picked in the form (and the filters): the tables, the alerts, then the
 * chart. A newer call aborts this one's requests, and nothing of this one is drawn after that, so
 * a slow answer of an older range never replaces a newer one. `push`: the user picked it (a new
 * history entry); `write: false`: the address already holds it (back or forward).
 * @param {Event} [event]
 * @param {{ push?: boolean, write?: boolean }} [options]
 */
async function show(event, { push = false, write = true } = {}) {
  event?.preventDefault();
  const picked = readRange();
  const status = $('#status');
  status.classList.remove('error');
  if ('error' in picked) {
    status.textContent = picked.error;
    status.classList.add('error');
    return;
  }
  viewLoad?.abort();
  abortChart();
  const load = new AbortController();
  viewLoad = load;
  const { signal } = load;
  const stale = () => viewLoad !== load;
  setRange(picked);
  const view = currentView();
  if (viewInUrl && write) writeViewToUrl({ ...view, ...chartView() }, { push });
  delete document.body.dataset.loaded;
  renderFilter();
  $('#apply', HTMLButtonElement).disabled = true;
  status.textContent = 'Loading metrics…';
  const alerts = fetchAlerts(view, signal);
  $('#summary-range').textContent = rangeText(view);
  // The trends (and the totals of entries and exits) load beside the details.
  const trends = loadSummaryTrends(view, signal);
  trends.catch(() => undefined); // awaited below; its failure is the view's
  try {
    const [campaigns, outreach, rates, perCampaign] =
      /** @type {[CampaignsAnswer, OutreachAnswer, RatesAnswer, OutreachCampaignsAnswer]} */ (
        await Promise.all([
          read(`/v1/metrics/campaigns?${viewQuery(view)}`, signal),
          read(`/v1/metrics/outreach?${viewQuery(view, { compare: 'previous' })}`, signal),
          read(`/v1/metrics/rates?${viewQuery(view, { compare: 'previous' })}`, signal),
          read(`/v1/metrics/outreach/campaigns?${viewQuery(view)}`, signal),
        ])
      );
    if (stale()) return;
    noteRates(rates);
    noteFreshness(perCampaign);
    renderPrecision([campaigns, outreach, rates, perCampaign]);
    renderSummaryFigures(outreach, rates);
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
    const only = isFiltered(view) ? ` for ${filterText(view)}` : '';
    status.textContent = `Showing ${rangeText(view)}${only}${before}.${freshnessSummary()}${alertsSaid}`;
    await Promise.all([loadChart(), trends]);
    if (stale()) return;
    // Tables and chart drawn (tests wait for this).
    document.body.dataset.loaded = `${view.from}|${view.to}`;
  } catch (error) {
    if (stale()) return;
    if (statusOf(error) !== 401) {
      status.textContent = `The metrics could not be loaded: ${messageOf(error)}`;
      status.classList.add('error');
    }
    const alertsAnswer = await alerts;
    if (!stale()) renderAlerts(alertsAnswer);
  } finally {
    if (!stale()) $('#apply', HTMLButtonElement).disabled = false;
    viewLoadsEnded += 1;
    document.body.dataset.viewLoads = String(viewLoadsEnded);
  }
}

/**
 * The user changed the view: from now on the address follows it.
 * @param {Event} [event]
 */
function userShow(event) {
  viewInUrl = true;
  $('#view-note').hidden = true; // it was about the link
  return show(event, { push: true });
}

/** Signed in: the view and the downloads. */
function signedIn() {
  void show();
  void loadDownloads();
}

function start() {
  /** @param {string} label @param {[string, string][]} metrics */
  const group = (label, metrics) => {
    const optgroup = document.createElement('optgroup');
    optgroup.label = label;
    optgroup.append(...metrics.map(([value, text]) => new Option(text, value)));
    return optgroup;
  };
  $('#metric').replaceChildren(group('Counts per bucket (bars)', COUNT_METRICS), group('Rates (line)', RATE_METRICS));
  buildSummary((metric) => {
    $('#metric', HTMLSelectElement).value = metric;
    $('#metric').dispatchEvent(new Event('change'));
  });
  renderStatuses('#sms', SMS_STATUSES, {});
  renderStatuses('#email', EMAIL_STATUSES, {});
  // The view a link asks for (an alert notification's: its window and scope), or the last 7 days.
  takeView(readViewFromUrl());
  viewInUrl = addressHasView();
  // Back and forward: the view of that entry, without a new one.
  window.addEventListener('popstate', () => {
    if (!range) return;
    takeView(readViewFromUrl());
    void show(undefined, { write: false });
  });
  $('#range-form').addEventListener('submit', (event) => void userShow(event));
  for (const button of $$('[data-preset]', HTMLButtonElement))
    button.addEventListener('click', () => {
      preset(button.dataset.preset);
      void userShow();
    });
  $('#clear-filter').addEventListener('click', () => {
    setFilters({});
    void userShow();
  });
  for (const button of $$('[data-export]', HTMLButtonElement))
    // The table's own button queues it as on show (filtered too); "all assignments" and "all outreach events" are all.
    button.addEventListener(
      'click',
      () => void queueDownload(button.dataset.export ?? '', 'followsView' in button.dataset ? { ...filters } : {}),
    );
  for (const selector of ['#metric', '#interval'])
    $(selector).addEventListener('change', () => {
      if (!range) return;
      viewInUrl = true;
      writeViewToUrl({ ...currentView(), ...chartView() }, { push: true });
      void loadChart();
    });
  $('#sign-out').addEventListener('click', () => signOut());
  $('#sign-in-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const problem = signIn($('#token-input', HTMLTextAreaElement).value.trim());
    if (problem) $('#sign-in-error').textContent = problem;
    else signedIn();
  });
  onTokenRefused(signOut);

  const fragment = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fragment) history.replaceState(null, '', location.pathname + location.search); // keep the token out of history
  const saved = fragment ?? savedToken();
  if (saved && !signIn(saved)) signedIn();
  else signOut(saved ? 'The saved token is no longer valid; please sign in again.' : '');
}

start();
