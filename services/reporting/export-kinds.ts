import {
  ASSIGNMENT_ACTIONS,
  CHANNELS,
  DELIVERY_STATUSES,
  SMS_STATUSES,
  type AssignmentAction,
  type Channel,
  type DeliveryStatus,
} from '../events/types.js';
import { RATE_DEFINITIONS } from './rates.js';

/**
 * The CSV exports. Two are event exports, read page by page from a raw table; three are the
 * metric tables of /v1/metrics/campaigns, /v1/metrics/outreach and /v1/metrics/outreach/campaigns.
 */
export const EXPORT_KINDS = ['assignments', 'deliveries', 'campaigns', 'outreach', 'outreach-campaigns'] as const;
export type ExportKind = (typeof EXPORT_KINDS)[number];

export interface ExportFilters {
  playbookId?: string;
  campaignId?: string;
  /** assignments only */
  action?: AssignmentAction;
  /** deliveries only */
  channel?: Channel;
  /** deliveries only */
  status?: DeliveryStatus;
}

export type ExportFilterName = keyof ExportFilters;

/** What an export reads: the tenant (from the token only), the inclusive range and the filters. */
export interface ExportRequest {
  kind: ExportKind;
  tenantId: string;
  /** Epoch milliseconds, inclusive. */
  fromMs: number;
  /** Epoch milliseconds, inclusive. */
  toMs: number;
  filters: ExportFilters;
}

/** The filters each export accepts. */
export const EXPORT_FILTERS: Record<ExportKind, readonly ExportFilterName[]> = {
  assignments: ['playbookId', 'campaignId', 'action'],
  deliveries: ['playbookId', 'campaignId', 'channel', 'status'],
  campaigns: ['playbookId', 'campaignId'],
  outreach: ['playbookId', 'campaignId'],
  'outreach-campaigns': ['playbookId', 'campaignId'],
};

/** Accepted values of the enumerated filters (as stored and as in the event contract). */
export const FILTER_VALUES = {
  action: ASSIGNMENT_ACTIONS,
  channel: CHANNELS,
  status: DELIVERY_STATUSES,
} as const;

/** The header row of each export, in column order. */
export const EXPORT_COLUMNS: Record<ExportKind, readonly string[]> = {
  assignments: ['occurredAt', 'eventId', 'customerId', 'playbookId', 'playbookName', 'campaignId', 'campaignName', 'action'],
  deliveries: ['occurredAt', 'eventId', 'customerId', 'messageId', 'channel', 'status', 'playbookId', 'campaignId', 'reason'],
  campaigns: ['playbookId', 'playbookName', 'campaignId', 'campaignName', 'entries', 'exits'],
  outreach: ['channel', 'status', 'count'],
  'outreach-campaigns': [
    'playbookId',
    'playbookName',
    'campaignId',
    'campaignName',
    ...SMS_STATUSES.map((status) => `sms_${status}`),
    ...DELIVERY_STATUSES.map((status) => `email_${status}`),
    ...RATE_DEFINITIONS.map((rate) => rate.id),
  ],
};

export function isExportKind(value: string): value is ExportKind {
  return (EXPORT_KINDS as readonly string[]).includes(value);
}

/**
 * Why `filters` does not fit `kind` (a filter of another export, an unknown filter, a value
 * outside its enum, an empty or over-long id), or undefined when it fits.
 */
export function filtersProblem(kind: ExportKind, filters: object): string | undefined {
  const accepted = EXPORT_FILTERS[kind];
  for (const [name, value] of Object.entries(filters)) {
    if (value === undefined) continue;
    if (!(accepted as readonly string[]).includes(name)) {
      const owner = EXPORT_KINDS.find((other) => (EXPORT_FILTERS[other] as readonly string[]).includes(name));
      return owner
        ? `filter ${name} applies to the ${owner} export, not to ${kind}; ${kind} accepts ${accepted.join(', ')}`
        : `unknown filter ${name}; ${kind} accepts ${accepted.join(', ')}`;
    }
    if (typeof value !== 'string') return `filter ${name} must be a string`;
    const allowed = (FILTER_VALUES as Record<string, readonly string[]>)[name];
    if (allowed && !allowed.includes(value)) return `filter ${name}: ${JSON.stringify(value)} is not one of ${allowed.join(', ')}`;
    if (value.length === 0 || value.length > 200) return `filter ${name} must be 1 to 200 characters long`;
  }
  return undefined;
}

/** `2026-11-01T00:00:00.000Z` → `2026-11-01T000000.000Z`: an instant without the colons file systems dislike. */
function fileInstant(ms: number): string {
  return new Date(ms).toISOString().replace(/:/g, '');
}

/** The attachment name of an export: what it holds and its range, e.g. `assignments_2026-11-01T000000.000Z_2026-11-27T235959.999Z.csv`. */
export function exportFileName(kind: ExportKind, fromMs: number, toMs: number): string {
  return `${kind}_${fileInstant(fromMs)}_${fileInstant(toMs)}.csv`;
}
