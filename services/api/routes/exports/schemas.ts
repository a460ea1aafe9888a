import { Type, type Static } from '@sinclair/typebox';
import { FILTER_VALUES } from '../../../reporting/index.js';
import { oneOf, RangeQuerystring, STATUS_MEANINGS } from '../../shared/schemas.js';

export const actionFilter = oneOf(FILTER_VALUES.action, 'Only this action');
export const channelFilter = oneOf(FILTER_VALUES.channel, 'Only this channel');
export const statusFilter = oneOf(FILTER_VALUES.status, `Only this delivery status (${STATUS_MEANINGS})`);

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
