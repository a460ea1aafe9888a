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
const METRICS = [
  ['entries', 'Campaign entries'],
  ['exits', 'Campaign exits'],
  ...SMS_STATUSES.map(([key, label]) => [`sms.${key}`, `Text messages: ${label.toLowerCase()}`]),
  ...EMAIL_STATUSES.map(([key, label]) => [`email.${key}`, `Emails: ${label.toLowerCase()}`]),
];
const EXPORT_NAMES = { assignments: 'Assignments', deliveries: 'Outreach events', campaigns: 'Campaign table', outreach: 'Outreach table' };

let token = null;
let range = null;
let chart = null;
let downloadsTimer = null;
/** Campaign names by id, from the last campaign table, to describe downloads in words. */
const campaignNames = new Map();

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
  const now = new Date();
  const start = new Date(now);
  start.setHours(0, 0, 0, 0);
  if (name === '7d') start.setDate(start.getDate() - 6);
  if (name === '30d') start.setDate(start.getDate() - 29);
  $('#from').value = toLocalInput(start);
  $('#to').value = toLocalInput(now);
}

function readRange() {
  const from = fromLocalInput($('#from').value);
  const to = fromLocalInput($('#to').value);
  if (!from || !to) return { error: 'Enter both a start and an end.' };
  const toInclusive = new Date(to.getTime() + 999); // the whole last second counts
  if (from > toInclusive) return { error: 'The start is after the end.' };
  return { from: from.toISOString(), to: toInclusive.toISOString() };
}

function query(extra = {}) {
  return new URLSearchParams({ from: range.from, to: range.to, ...extra }).toString();
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

function renderCampaigns(rows) {
  const tbody = $('#campaigns tbody');
  for (const row of rows) campaignNames.set(row.campaignId, `${row.campaignName} (${row.playbookName})`);
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

function renderStatuses(selector, statuses, counts) {
  $(`${selector} tbody`).replaceChildren(
    ...statuses.map(([key, label, help]) => {
      const tr = document.createElement('tr');
      tr.dataset.status = key;
      const name = cell(label);
      name.title = help;
      tr.append(name, cell(numbers.format(counts[key] ?? 0), 'num count'), cell(help, 'help'));
      return tr;
    }),
  );
}

// ---- chart ---------------------------------------------------------------------------------

async function loadChart() {
  const metric = $('#metric').value;
  const interval = $('#interval').value;
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
  $('#chart-status').textContent = 'Loading the chart…';
  try {
    const body = await (await api(`/v1/metrics/timeseries?${query({ metric, interval, tz })}`)).json();
    const xs = body.points.map((p) => Date.parse(p.start) / 1000);
    const ys = body.points.map((p) => p.value);
    const label = METRICS.find(([key]) => key === metric)[1];
    const width = Math.max(320, $('#chart').clientWidth);
    chart?.destroy();
    chart = new window.uPlot(
      {
        width,
        height: 300,
        tzDate: (ts) => window.uPlot.tzDate(new Date(ts * 1000), tz),
        scales: { x: { time: true } },
        series: [{}, { label, stroke: '#0b57d0', width: 2, fill: 'rgba(11,87,208,.12)', points: { show: xs.length < 80 } }],
        axes: [{}, { values: (_u, values) => values.map((v) => numbers.format(v)) }],
      },
      [xs, ys],
      $('#chart'),
    );
    const total = ys.reduce((sum, v) => sum + v, 0);
    $('#chart').setAttribute('aria-label', `${label} per ${interval}: ${numbers.format(total)} in total over ${xs.length} ${interval}s`);
    $('#chart-status').textContent = total === 0 ? 'Nothing to chart in this range.' : '';
  } catch (error) {
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
  range = picked;
  $('#apply').disabled = true;
  status.textContent = 'Loading metrics…';
  try {
    const [campaigns, outreach] = await Promise.all([
      api(`/v1/metrics/campaigns?${query()}`).then((r) => r.json()),
      api(`/v1/metrics/outreach?${query()}`).then((r) => r.json()),
    ]);
    renderCampaigns(campaigns.rows);
    renderStatuses('#sms', SMS_STATUSES, outreach.sms);
    renderStatuses('#email', EMAIL_STATUSES, outreach.email);
    status.textContent = `Showing ${new Date(range.from).toLocaleString()} to ${new Date(range.to).toLocaleString()}.`;
    document.body.dataset.loaded = `${range.from}|${range.to}`;
    await loadChart();
  } catch (error) {
    if (error.status !== 401) {
      status.textContent = `The metrics could not be loaded: ${error.message}`;
      status.classList.add('error');
    }
  } finally {
    $('#apply').disabled = false;
  }
}

function start() {
  const now = new Date();
  $('#tz-name').textContent = `${Intl.DateTimeFormat().resolvedOptions().timeZone} (${offsetLabel(now)})`;
  $('#metric').replaceChildren(...METRICS.map(([value, label]) => new Option(label, value)));
  renderStatuses('#sms', SMS_STATUSES, {});
  renderStatuses('#email', EMAIL_STATUSES, {});
  preset('7d');
  $('#range-form').addEventListener('submit', show);
  for (const button of document.querySelectorAll('[data-preset]'))
    button.addEventListener('click', () => {
      preset(button.dataset.preset);
      show();
    });
  for (const button of document.querySelectorAll('[data-export]'))
    button.addEventListener('click', () => queueDownload(button.dataset.export));
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
