import { Type, type Static } from '@sinclair/typebox';

export const EventsQuerystring = Type.Object(
  {
    atomic: Type.Optional(
      Type.Boolean({
        default: false,
        description: 'true: all or nothing — one invalid event refuses the request (400) and nothing is published',
      }),
    ),
  },
  { additionalProperties: false },
);
export type EventsQuerystring = Static<typeof EventsQuerystring>;

export const Rejection = Type.Object({
  index: Type.Integer({
    minimum: 0,
    description: 'the position of the event: in the JSON array (0 for a single object), or the 0-based line number of NDJSON',
  }),
  reason: Type.String({
    description: 'every problem found, as `field: problem`, separated by "; " (values quoted at most 40 characters long)',
  }),
});
export type Rejection = Static<typeof Rejection>;

export const EventsAnswer = Type.Object({
  accepted: Type.Integer({ minimum: 0, description: 'events published and acknowledged by the broker (acks=all)' }),
  rejected: Type.Array(Rejection, { description: 'events refused, none of them published: the first 100 (by index)' }),
  rejectedCount: Type.Integer({ minimum: 0, description: 'how many events were refused in all (rejected lists the first 100)' }),
});
export type EventsAnswer = Static<typeof EventsAnswer>;

const EVENT_HELP =
  'Events of the contract (docs/api.md, "Producing from other languages"): assignment or delivery records with a unique eventId. ' +
  "tenantId may be left out (the token's tenant is used); an event naming another tenant is rejected.";

export const EventsBody = {
  content: {
    'application/json': { schema: Type.Unknown({ description: `One event object, or an array of them. ${EVENT_HELP}` }) },
    // Unknown, not String: the route's parser hands the handler the text with its kind, not a bare string.
    'application/x-ndjson': { schema: Type.Unknown({ description: `Text, one event per line (blank lines are skipped). ${EVENT_HELP}` }) },
  },
};
