// @ts-check
/** The count tables of a range: campaigns, the statuses of each channel, outreach per campaign. */
import { $, cell, emptyRow, twoLines } from './dom.js';
import { queueDownload } from './downloads.js';
import { countChange, numbers } from './format.js';
import { noteCampaign, noteNames } from './names.js';
import { judged, rateCell } from './rates.js';
import { RATES } from './vocabulary.js';

/**
 * A per-campaign answer bounded by the API (`truncated`): says that the table shows only its first rows.
 * @param {string} selector
 * @param {{ truncated?: boolean, rows: unknown[] }} answer
 */
export function renderTruncated(selector, answer) {
  const note = $(selector);
  note.hidden = !answer.truncated;
  note.textContent = answer.truncated
    ? `Showing the first ${answer.rows.length.toLocaleString('en-US')} campaigns of more (the API's limit); download the rows for all of them.`
    : '';
}

/** @param {import('./types.js').CampaignsAnswer['rows']} rows */
export function renderCampaigns(rows) {
  const tbody = $('#campaigns tbody');
  for (const row of rows) {
    noteCampaign(row);
    noteNames(row);
  }
  if (rows.length === 0) return emptyRow(tbody, 5, 'No customer entered or exited a campaign in this range.');
  tbody.replaceChildren(
    ...rows.map((row) => {
      const tr = document.createElement('tr');
      tr.dataset.playbookId = row.playbookId;
      tr.dataset.campaignId = row.campaignId;
      const actions = document.createElement('td');
      for (const [action, label] of /** @type {[string, string][]} */ ([
        ['entered', 'Entries'],
        ['exited', 'Exits'],
      ])) {
        const button = document.createElement('button');
        button.type = 'button';
        button.className = 'quiet';
        button.textContent = `Queue ${label.toLowerCase()}`;
        // The accessible name starts with the visible text (for speech input), then says which campaign.
        button.setAttribute('aria-label', `Queue ${label.toLowerCase()} of ${row.campaignName} (${row.playbookName}) for download`);
        button.addEventListener('click', () => {
          void queueDownload('assignments', { playbookId: row.playbookId, campaignId: row.campaignId, action });
        });
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

/** @typedef {Record<string, number>} Counts */

/**
 * A channel's statuses: count, change against the previous period, meaning.
 * @param {string} selector
 * @param {readonly import('./vocabulary.js').StatusWords[]} statuses
 * @param {object} counts the channel's counts (empty before any answer)
 * @param {object} [change] the channel's changes
 * @param {object} [previous] the channel's counts in the previous period
 */
export function renderStatuses(selector, statuses, counts, change, previous) {
  const now = /** @type {Counts} */ (counts);
  const before = /** @type {Counts | undefined} */ (previous);
  const changes = /** @type {Record<string, import('./types.js').Change> | undefined} */ (change);
  $(`${selector} tbody`).replaceChildren(
    ...statuses.map(({ key, label, meaning }) => {
      const tr = document.createElement('tr');
      tr.dataset.status = key;
      const name = cell(label);
      name.title = meaning;
      const was = before ? `was ${numbers.format(before[key] ?? 0)}` : '';
      tr.append(
        name,
        cell(numbers.format(now[key] ?? 0), 'num count'),
        twoLines(changes ? countChange(changes[key]) : '–', was, 'num change'),
        cell(meaning, 'help'),
      );
      return tr;
    }),
  );
}

/** @param {import('./types.js').OutreachCampaignsAnswer['rows']} rows */
export function renderOutreachCampaigns(rows) {
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
      // The columns of the page: texts sent, the text rate(s), emails sent, the email rates.
      const rates = (/** @type {'sms' | 'email'} */ channel) =>
        RATES.filter((rate) => rate.channel === channel).map((rate) => rateCell(judged(row.rates, rate), rate));
      tr.append(
        playbook,
        campaign,
        cell(numbers.format(row.sms.sent), 'num sms-sent'),
        ...rates('sms'),
        cell(numbers.format(row.email.sent), 'num email-sent'),
        ...rates('email'),
      );
      return tr;
    }),
  );
}
