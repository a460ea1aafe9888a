// @ts-check
/**
 * Playbook and campaign names by id, learnt from the tables on show: they name a filter, an alert
 * rule's scope and a download in words (ids while a name is unknown).
 */

const playbookTitles = /** @type {Map<string, string>} */ (new Map());
const campaignTitles = /** @type {Map<string, string>} */ (new Map());
/** "Welcome (Onboarding)" by campaign id, from the last campaign table, to describe downloads. */
const campaignNames = /** @type {Map<string, string>} */ (new Map());

/** @param {{ playbookId: string | null, playbookName: string, campaignId: string | null, campaignName: string }} row */
export function noteNames(row) {
  if (row.playbookId && row.playbookName) playbookTitles.set(row.playbookId, row.playbookName);
  if (row.campaignId && row.campaignName) campaignTitles.set(row.campaignId, row.campaignName);
}

/** @param {{ playbookName: string, campaignId: string, campaignName: string }} row a row of the campaign table */
export function noteCampaign(row) {
  campaignNames.set(row.campaignId, `${row.campaignName} (${row.playbookName})`);
}

/** @param {string} campaignId */
export const campaignName = (campaignId) => campaignNames.get(campaignId);

/**
 * "Campaign Welcome (Onboarding)", "Playbook Onboarding"; ids while the names are unknown.
 * @param {{ playbookId?: string, campaignId?: string }} view
 */
export function filterText(view) {
  const playbook = view.playbookId ? (playbookTitles.get(view.playbookId) ?? view.playbookId) : null;
  if (!view.campaignId) return `Playbook ${playbook}`;
  const campaign = campaignTitles.get(view.campaignId) ?? view.campaignId;
  return playbook ? `Campaign ${campaign} (${playbook})` : `Campaign ${campaign}`;
}

/**
 * "All outreach", "Playbook Onboarding", "Campaign Welcome (Onboarding)"; ids when the names are unknown.
 * @param {{ playbookId?: string, campaignId?: string } | undefined} scope
 */
export function scopeText(scope) {
  if (!scope?.playbookId) return 'All outreach';
  const playbook = playbookTitles.get(scope.playbookId) ?? scope.playbookId;
  if (!scope.campaignId) return `Playbook ${playbook}`;
  return `Campaign ${campaignTitles.get(scope.campaignId) ?? scope.campaignId} (${playbook})`;
}
