import { changeTree, compareUtf8, type CampaignRow, type OutreachCampaignRow } from '../../../reporting/index.js';
import { badRequest } from '../../errors.js';

/**
 * How the per-campaign answers order, page and compare their rows: the campaigns answer's order,
 * a keyset cursor (`after` / `next`), and both periods' rows lined up for compare=previous.
 */

const key = (row: { playbookId: string | null; campaignId: string | null }) => `${row.playbookId ?? ''}\u0000${row.campaignId ?? ''}`;

/**
 * Rows of both periods lined up by playbook + campaign: every row of either, the current
 * figures (zeros when the campaign had none now), the previous ones and the change.
 */
export function lineUp<R extends { playbookId: string | null; campaignId: string | null }, F>(
  current: R[],
  previous: R[],
  empty: (row: R) => R,
  figures: (row: R) => F,
  sort: (a: R, b: R) => number,
): Array<R & { previous: F; change: ReturnType<typeof changeTree<F>> }> {
  const before = new Map(previous.map((row) => [key(row), row]));
  const rows = [...current];
  const seen = new Set(current.map(key));
  for (const row of previous) if (!seen.has(key(row))) rows.push(empty(row));
  return rows.sort(sort).map((row) => {
    const then = figures(before.get(key(row)) ?? empty(row));
    return { ...row, previous: then, change: changeTree(figures(row), then) };
  });
}

/** The order of the campaigns answer: UTF-8 byte order of the names, then the ids (as the engine and queryCampaigns sort). */
export const campaignOrder = (a: CampaignRow, b: CampaignRow) =>
  compareUtf8(a.playbookName, b.playbookName) ||
  compareUtf8(a.campaignName, b.campaignName) ||
  compareUtf8(a.playbookId, b.playbookId) ||
  compareUtf8(a.campaignId, b.campaignId);

export type RowKey = Pick<OutreachCampaignRow, 'playbookId' | 'playbookName' | 'campaignId' | 'campaignName'>;
const AFTER_PROBLEM =
  'query parameter after is not the next of an earlier answer (pass it as it was answered, with the same other parameters)';

/** A row's place in its answer's order, as an opaque cursor (base64url JSON of the sort key). */
const cursorOf = (row: RowKey): string =>
  Buffer.from(JSON.stringify([row.playbookName, row.campaignName, row.playbookId, row.campaignId])).toString('base64url');

export function rowKeyOf(cursor: string): RowKey {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw badRequest(AFTER_PROBLEM);
  }
  const text = (value: unknown) => typeof value === 'string';
  const id = (value: unknown) => value === null || typeof value === 'string';
  if (!Array.isArray(key) || key.length !== 4 || !text(key[0]) || !text(key[1]) || !id(key[2]) || !id(key[3])) {
    throw badRequest(AFTER_PROBLEM);
  }
  const [playbookName, campaignName, playbookId, campaignId] = key as [string, string, string | null, string | null];
  return { playbookId, playbookName, campaignId, campaignName };
}

/**
 * The page of `rows` (sorted by `order`) after the row `after` names: at most `limit` rows, and
 * `truncated` with the cursor of its last row when more follow. A keyset, not an offset: a page
 * answered after new campaigns appeared starts right after the last row seen, skipping none.
 */
export function pageOf<R extends RowKey>(
  rows: R[],
  order: (a: RowKey, b: RowKey) => number,
  after: RowKey | undefined,
  limit: number,
): { rows: R[]; truncated?: true; next?: string } {
  let start = 0;
  if (after) {
    // The first row ordered after `after` (binary search: the rows are sorted by `order`).
    let high = rows.length;
    while (start < high) {
      const middle = (start + high) >>> 1;
      if (order(rows[middle]!, after) <= 0) start = middle + 1;
      else high = middle;
    }
  }
  const page = rows.slice(start, start + limit);
  if (start + limit >= rows.length) return { rows: page };
  return { rows: page, truncated: true, next: cursorOf(page.at(-1)!) };
}
