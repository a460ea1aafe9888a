import { Type, type Static } from '@sinclair/typebox';
import { ASSIGNMENT_ACTIONS, CHANNELS, DELIVERY_STATUSES } from '../../../events/types.js';
import { EXPORT_KINDS } from '../../../reporting/index.js';
import { oneOf, RangeQuerystring } from '../../shared/schemas.js';

const filters = Type.Record(Type.String(), Type.String({ minLength: 1, maxLength: 200 }), {
  description:
    'Optional filters of the export, as in its query string: playbookId and campaignId (every export); ' +
    `action (assignments: ${ASSIGNMENT_ACTIONS.join(', ')}); channel (deliveries: ${CHANNELS.join(', ')}) and status (deliveries: ${DELIVERY_STATUSES.join(', ')}).`,
});

export const DownloadRequest = Type.Object(
  {
    export: oneOf(EXPORT_KINDS, 'What to export'),
    from: RangeQuerystring.properties.from,
    to: RangeQuerystring.properties.to,
    filters: Type.Optional(filters),
  },
  { additionalProperties: false },
);
export type DownloadRequest = Static<typeof DownloadRequest>;

export const DownloadParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 100, description: 'The id POST /v1/downloads answered with' }),
});
export type DownloadParams = Static<typeof DownloadParams>;

const nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);

export const DownloadView = Type.Object({
  id: Type.String(),
  export: Type.String(),
  status: Type.String({
    description:
      'queued: waiting for the worker; running: being written; ready: the file can be fetched; failed: see error; expired: the file was deleted after its time to live',
  }),
  from: Type.String(),
  to: Type.String(),
  filters: Type.Record(Type.String(), Type.String()),
  rows: Type.Integer({ minimum: 0, description: 'data rows in the file (so far, while running)' }),
  bytes: Type.Integer({ minimum: 0, description: 'size of the file (so far, while running)' }),
  error: nullable(Type.String({ description: 'why the download failed, or a note on a download run again' })),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  expiresAt: nullable(Type.String({ description: 'when the file of a ready download is deleted' })),
  file: nullable(Type.String({ description: 'where to fetch the CSV once ready' })),
});
export type DownloadView = Static<typeof DownloadView>;

export const DownloadList = Type.Object({ downloads: Type.Array(DownloadView) });
