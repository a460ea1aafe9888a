import { Type, type Static } from '@sinclair/typebox';

export const WebhookParams = Type.Object({
  tenant: Type.String({ minLength: 1, maxLength: 100, description: 'The tenant whose provider account sends the callbacks' }),
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
    { description: 'notifications that cannot become events (e.g. without a customerId); not published, not retried' },
  ),
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
