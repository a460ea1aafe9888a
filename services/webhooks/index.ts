/** Provider callbacks (Twilio Messaging, SendGrid Event Webhook): signatures and the mapping onto delivery events. */
export { providerEventId, CUSTOM_FIELDS, type Provider, type ProviderOutcome } from './outcome.js';
export { twilioOutcome, twilioSignature, verifyTwilioSignature, TWILIO_STATUS_MAP, TWILIO_EXPIRED_ERROR } from './twilio.js';
export {
  sendgridOutcome,
  verifySendgridSignature,
  SENDGRID_EVENT_MAP,
  SENDGRID_SIGNATURE_HEADER,
  SENDGRID_TIMESTAMP_HEADER,
} from './sendgrid.js';
