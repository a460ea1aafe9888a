/**
 * 3. The straightforward answers: a scan of the raw table over the same range
 * (`WHERE tenant_id = … AND occurred_at BETWEEN … GROUP BY …`), what the endpoints must equal.
 */
import { isDeliveryStatus, isSmsStatus, statusKey, type Channel } from '../../services/events/types.js';
import type { ClickHouseClient } from '../../services/platform/clickhouse.js';
import { dateTime64Text } from '../../services/platform/clickhouse-values.js';
import { emptyOutreachCounts, type CampaignRow, type MetricsRange, type OutreachCounts } from '../../services/reporting/index.js';
import { rows } from './rows.js';

/**
 * Outreach counts, and the messages of a status their channel cannot take (an SMS `delivered`, or
 * a status outside the contract), by `channel.status`: never expected, so always a mismatch.
 */
export type RawOutreachCounts = OutreachCounts & { unexpected?: Record<string, number> };

const rawParams = (range: MetricsRange) => ({
  tenantId: range.tenantId,
  from: dateTime64Text(range.fromMs),
  to: dateTime64Text(range.toMs),
  ...(range.playbookId !== undefined ? { playbookId: range.playbookId } : {}),
  ...(range.campaignId !== undefined ? { campaignId: range.campaignId } : {}),
});

const rawWhere = (range: MetricsRange) =>
  `tenant_id = {tenantId:String} AND occurred_at BETWEEN {from:DateTime64(3, 'UTC')} AND {to:DateTime64(3, 'UTC')}` +
  (range.playbookId !== undefined ? ' AND playbook_id = {playbookId:String}' : '') +
  (range.campaignId !== undefined ? ' AND campaign_id = {campaignId:String}' : '');

/** Campaign rows straight from the raw table (names: the latest in the range; they never change in this data). */
export async function rawCampaigns(client: ClickHouseClient, range: MetricsRange): Promise<CampaignRow[]> {
  const result = await rows<Record<'playbookId' | 'playbookName' | 'campaignId' | 'campaignName' | 'entries' | 'exits', string>>(
    client,
    `SELECT playbook_id AS playbookId, argMax(playbook_name, occurred_at) AS playbookName,
              campaign_id AS campaignId, argMax(campaign_name, occurred_at) AS campaignName,
              countIf(action = 'entered') AS entries, countIf(action = 'exited') AS exits
       FROM assignment_events WHERE ${rawWhere(range)}
       GROUP BY playbook_id, campaign_id`,
    rawParams(range),
  );
  return result.map((r) => ({
    playbookId: r.playbookId,
    playbookName: r.playbookName,
    campaignId: r.campaignId,
    campaignName: r.campaignName,
    entries: Number(r.entries),
    exits: Number(r.exits),
  }));
}

/** Outreach counts straight from the raw table; an SMS with an email-only status shows up as a mismatch. */
export async function rawOutreach(client: ClickHouseClient, range: MetricsRange): Promise<RawOutreachCounts> {
  const result = await rows<{ channel: Channel; status: string; n: string }>(
    client,
    `SELECT channel, status, count() AS n FROM delivery_events WHERE ${rawWhere(range)} GROUP BY channel, status`,
    rawParams(range),
  );
  const counts: RawOutreachCounts = emptyOutreachCounts();
  for (const { channel, status, n } of result) {
    if (channel === 'sms' && isSmsStatus(status)) counts.sms[statusKey(status)] = Number(n);
    else if (channel === 'email' && isDeliveryStatus(status)) counts.email[statusKey(status)] = Number(n);
    else counts.unexpected = { ...counts.unexpected, [`${channel}.${status}`]: Number(n) };
  }
  return counts;
}
