/** Provider callbacks (Twilio Messaging, SendGrid Event Webhook): signatures and the mapping onto delivery events. */
export { providerEventId, CUSTOM_FIELDS, type Provider, type ProviderOutcome } from './outcome.js';
export {
  twilioOutcome,
  twilioSignature,
  twilioSignatureSettings,
  twilioUrlCandidates,
  verifyTwilioRequest,
  verifyTwilioSignature,
  TWILIO_STATUS_MAP,
  TWILIO_EXPIRED_ERROR,
  TWILIO_SIGNATURE_HEADER,
  TWILIO_SIGNATURE_SETTINGS_HEADER,
  type TwilioAlgorithm,
} from './twilio.js';
export {
  sendgridOutcome,
  sendgridTimestampFresh,
  verifySendgridSignature,
  SENDGRID_EVENT_MAP,
  SENDGRID_SIGNATURE_HEADER,
  SENDGRID_TIMESTAMP_HEADER,
  SENDGRID_TIMESTAMP_TOLERANCE_SECONDS,
} from './sendgrid.js';
