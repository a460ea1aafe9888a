// @ts-check
/** Queued downloads: queueing one for the range on show, the list and its Save buttons. */
import { api, messageOf, read, statusOf } from './api.js';
import { $, cell, emptyRow } from './dom.js';
import { numbers } from './format.js';
import { campaignName } from './names.js';
import { range } from './range.js';

/** @typedef {import('./types.js').Download} Download */

/** @type {Record<string, string>} */
const EXPORT_NAMES = {
  assignments: 'Assignments',
  deliveries: 'Outreach events',
  campaigns: 'Campaign table',
  outreach: 'Outreach table',
  'outreach-campaigns': 'Outreach per campaign',
};

/** @type {ReturnType<typeof setTimeout> | undefined} */
let downloadsTimer;

const status = () => $('#downloads-status');

/** Stops following the downloads (signed out). */
export const stopDownloads = () => clearTimeout(downloadsTimer);

/**
 * Queues a download of an export over the range on show.
 * @param {string} exportName
 * @param {Record<string, string>} [filters]
 */
export async function queueDownload(exportName, filters = {}) {
  if (!range) return;
  status().textContent = 'Queueing the download…';
  try {
    await api('/v1/downloads', { method: 'POST', body: JSON.stringify({ export: exportName, from: range.from, to: range.to, filters }) });
    status().textContent = 'Queued. It is listed below, with a Save button once it is ready.';
    await loadDownloads();
  } catch (error) {
    if (statusOf(error) !== 401) status().textContent = `The download could not be queued: ${messageOf(error)}`;
  }
}

/** " (entries, Welcome (Onboarding))" @param {Download} job */
function describeFilters(job) {
  const filters = job.filters ?? {};
  const parts = [];
  if (filters.action) parts.push(filters.action === 'entered' ? 'entries' : 'exits');
  if (filters.campaignId) parts.push(campaignName(filters.campaignId) ?? `campaign ${filters.campaignId}`);
  else if (filters.playbookId) parts.push(`playbook ${filters.playbookId}`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

/** @param {Download} job */
async function saveFile(job) {
  const response = await api(`/v1/downloads/${encodeURIComponent(job.id)}/file`);
  const blob = await response.blob();
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = `${job.export}-${job.id}.csv`;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

/** @param {Download} job */
function downloadRow(job) {
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
    button.addEventListener('click', () => {
      saveFile(job).catch((/** @type {unknown} */ error) => (status().textContent = `The file could not be saved: ${messageOf(error)}`));
    });
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
}

/** Lists the downloads; follows them while any is queued or running. */
export async function loadDownloads() {
  clearTimeout(downloadsTimer);
  try {
    const { downloads: jobs } = /** @type {import('./types.js').DownloadsAnswer} */ (await read('/v1/downloads'));
    const tbody = $('#downloads tbody');
    if (jobs.length === 0) emptyRow(tbody, 5, 'No downloads yet.');
    else tbody.replaceChildren(...jobs.map(downloadRow));
    if (jobs.some((job) => job.status === 'queued' || job.status === 'running'))
      downloadsTimer = setTimeout(() => void loadDownloads(), 1500);
  } catch (error) {
    if (statusOf(error) !== 401) status().textContent = `Downloads could not be listed: ${messageOf(error)}`;
  }
}
