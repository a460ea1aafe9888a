/**
 * Alerts: per-tenant rules over the deliverability rates, an evaluator that moves each rule's
 * state with hysteresis and records every change, and signed webhook notifications with
 * retries. The API reads and writes rules and history through this module.
 */
export { AlertEvaluator, alertTopic, partitionOfTenant, type AlertEvaluatorDeps } from './evaluator.js';
export {
  ALERT_RATES,
  AlertRuleError,
  MAX_RULES,
  defaultRules,
  parseRules,
  ruleFingerprint,
  ruleThreshold,
  windowMs,
  type AlertRule,
  type AlertScope,
} from './rules.js';
export { nextState, type AlertState, type Evaluation } from './state-machine.js';
export { AlertStore, NOTIFICATION_STATUSES, alertEventId, type AlertEvent, type NotificationStatus, type StoredRules } from './store.js';
export {
  IDEMPOTENCY_HEADER,
  SIGNATURE_HEADER,
  derivedWebhookSecret,
  newWebhookSecret,
  secretHint,
  signatureHeader,
  verifySignature,
} from './signature.js';
export { checkWebhookUrl, blockedAddressReason, WebhookUrlError } from './webhook-safety.js';
export { Notifier, postWebhook, retryDelayMs, MAX_RETRY_DELAY_MS, type NotifierOptions } from './notifier.js';
