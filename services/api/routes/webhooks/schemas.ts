import { Type, type Static } from '@sinclair/typebox';
import { TENANT_ID_PATTERN } from '../../../platform/config.js';

export const WebhookParams = Type.Object({
  tenant: Type.String({
    pattern: TENANT_ID_PATTERN.source,
    description: "The tenant whose provider account sends the callbacks (a tenant id as in a token: letters, digits, '.', '_', ':', '-')",
  }),
});
export type WebhookParams = Static<typeof WebhookParams>;

export const WebhookAnswer = Type.Object({
  accepted: Type.Integer({ minimum: 0, description: 'notifications published as delivery events (acks=all)' }),
  ignored: Type.Integer({ minimum: 0, description: 'notifications of states that are not counted (e.g. queued, sending, open, click)' }),
  rejected: Type.Array(
    Type.Object({
      index: Type.Integer({ minimum: 0, description: 'position in the array (always 0 for Twilio)' }),
      reason: Type.String(),
    }),
    {
      description:
        'notifications that cannot become events (e.g. without a customerId, a timestamp no date can hold); not published, not retried. ' +
        'The first 100 are listed; `omitted` counts the rest',
    },
  ),
  omitted: Type.Optional(Type.Integer({ minimum: 1, description: 'rejected notifications beyond the 100 listed (absent when none)' })),
});
export type WebhookAnswer = Static<typeof WebhookAnswer>;

export const TwilioBody = {
  content: {
    'application/x-www-form-urlencoded': {
      schema: Type.Unknown({ description: "Twilio's status callback parameters (MessageSid, MessageStatus, ErrorCode, …)" }),
    },
  },
};

export const SendgridBody = {
  content: {
    'application/json': { schema: Type.Unknown({ description: 'The SendGrid Event Webhook array of events' }) },
  },
};
