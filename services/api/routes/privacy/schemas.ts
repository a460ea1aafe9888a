import { Type, type Static } from '@sinclair/typebox';
import { ERASURE_STATES } from '../../../privacy/index.js';
import { oneOf } from '../../shared/schemas.js';

export const ErasureBody = Type.Object(
  {
    customerId: Type.String({
      minLength: 1,
      maxLength: 200,
      description: "the customer whose identifiers are erased from the tenant's raw events and download files",
    }),
  },
  { additionalProperties: false },
);
export type ErasureBody = Static<typeof ErasureBody>;

export const ErasureParams = Type.Object(
  { id: Type.String({ pattern: '^[0-9a-f-]{36}$', description: 'the id the POST answered' }) },
  { additionalProperties: false },
);
export type ErasureParams = Static<typeof ErasureParams>;

export const ErasureView = Type.Object({
  id: Type.String(),
  state: oneOf(ERASURE_STATES, 'running until the raw rows and the files are done; failed: ask again (it is safe)'),
  requestedBy: Type.String(),
  requestedAt: Type.String(),
  doneAt: Type.Union([Type.String(), Type.Null()]),
  rowsChanged: Type.Integer({ description: 'raw event rows whose identifiers were replaced; 0 when nothing of the customer was left' }),
  filesDeleted: Type.Integer({ description: 'download files deleted because they held the customer' }),
  error: Type.Union([Type.String(), Type.Null()]),
});
export type ErasureView = Static<typeof ErasureView>;
