import { Type, type Static, type TUnsafe } from '@sinclair/typebox';
import { FILTER_VALUES } from '../../exports/index.js';
import { EMAIL_STATUS_HELP } from '../metrics/schemas.js';
import { RangeQuerystring } from '../metrics/schemas.js';

/** A string from a closed list; validation errors say "must be equal to one of the allowed values". */
export function oneOf<T extends string>(values: readonly T[], description: string): TUnsafe<T> {
  return Type.Unsafe<T>({ type: 'string', enum: [...values], description: `${description}: ${values.join(', ')}` });
}

export const actionFilter = oneOf(FILTER_VALUES.action, 'Only this action');
export const channelFilter = oneOf(FILTER_VALUES.channel, 'Only this channel');
export const statusFilter = oneOf(
  FILTER_VALUES.status,
  `Only this delivery status (${Object.entries(EMAIL_STATUS_HELP)
    .map(([status, help]) => `${status.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`)} = ${help}`)
    .join('; ')})`,
);

export const AssignmentsExportQuerystring = Type.Object(
  { ...RangeQuerystring.properties, action: Type.Optional(actionFilter) },
  { additionalProperties: false },
);
export type AssignmentsExportQuerystring = Static<typeof AssignmentsExportQuerystring>;

export const DeliveriesExportQuerystring = Type.Object(
  { ...RangeQuerystring.properties, channel: Type.Optional(channelFilter), status: Type.Optional(statusFilter) },
  { additionalProperties: false },
);
export type DeliveriesExportQuerystring = Static<typeof DeliveriesExportQuerystring>;

export const MetricTableExportQuerystring = RangeQuerystring;

/** A 200 answer of CSV (documented as text/csv; the body is a stream, never serialized). */
export const CsvResponse = {
  description: 'RFC 4180 CSV in UTF-8: a header row, CRLF between records, fields with commas, quotes or line breaks quoted.',
  content: { 'text/csv': { schema: Type.String() } },
};
