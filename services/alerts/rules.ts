import crypto from 'node:crypto';
import { DomainError } from '../platform/errors.js';
import { rateDefinition, RATE_DEFINITIONS, type RateThreshold } from '../reporting/index.js';

/**
 * Alert rules of a tenant: a rate, a scope (all outreach, a playbook, or a campaign of a
 * playbook), a trailing window, warning and critical lines (default: the documented sender
 * thresholds of the rate), a minimum volume, and where to notify. Validation names the field.
 */

export interface AlertScope {
  playbookId?: string;
  campaignId?: string;
}

export interface AlertRule {
  /** Chosen by the tenant: [A-Za-z0-9_.-], 1–64 characters, unique among its rules. */
  id: string;
  /** A rate with a threshold, e.g. email.bounceRate. */
  rate: string;
  scope: AlertScope;
  /** Trailing window: `30m`, `1h`, `24h`, `7d` (5 minutes to 7 days). */
  window: string;
  /** Lines as fractions (0.02 = 2 %), whole parts per million. */
  warning: number;
  critical: number;
  /** Smallest denominator judged; below it the state holds. */
  minimumVolume: number;
  /** https URL notified on every state change; absent: the change is only recorded. */
  webhookUrl?: string;
}

/** The rates a rule may watch: those with lines (a higher value is worse). */
export const ALERT_RATES: readonly string[] = RATE_DEFINITIONS.filter((rate) => rate.threshold).map((rate) => rate.id);

export const MAX_RULES = 50;
const ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
const WINDOW_PATTERN = /^(\d{1,5})(m|h|d)$/;
const MIN_WINDOW_MS = 5 * 60_000;
const MAX_WINDOW_MS = 7 * 86_400_000;

/** A rule the tenant asked for wrongly: `details.field` is its path in the body (`rules[2].warning`), the message what is wrong there. */
export class AlertRuleError extends DomainError {
  override name = 'AlertRuleError';
  constructor(field: string, problem: string) {
    super('invalid', 'ALERT_RULE_INVALID', problem, { field });
  }
}

/** `24h` → 86,400,000; undefined when it is not a window. */
export function windowMs(window: string): number | undefined {
  const match = WINDOW_PATTERN.exec(window);
  if (!match) return undefined;
  const unit = { m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

/** The default rules of a tenant that set none: spam complaints and bounces over 24 h, documented lines, recorded only. */
export function defaultRules(minimumVolume: number): AlertRule[] {
  return ['email.spamComplaintRate', 'email.bounceRate'].map((rate) => {
    const threshold = rateDefinition(rate)!.threshold!;
    return {
      id: `${rate.split('.')[1]}-24h`,
      rate,
      scope: {},
      window: '24h',
      warning: threshold.warningPpm / 1_000_000,
      critical: threshold.criticalPpm / 1_000_000,
      minimumVolume,
    };
  });
}

/** The lines of a rule in parts per million (exact, as the rates judge them) and their source. */
export function ruleThreshold(rule: AlertRule): RateThreshold {
  const documented = rateDefinition(rule.rate)?.threshold;
  const warningPpm = Math.round(rule.warning * 1_000_000);
  const criticalPpm = Math.round(rule.critical * 1_000_000);
  const isDefault = documented && documented.warningPpm === warningPpm && documented.criticalPpm === criticalPpm;
  return { warningPpm, criticalPpm, source: isDefault ? documented.source : "the tenant's alert rule" };
}

/** Identifies a rule's definition: a changed rule (lines, window, scope, rate) starts again from ok. */
export function ruleFingerprint(rule: AlertRule): string {
  const { id, rate, scope, window, warning, critical, minimumVolume } = rule;
  const canonical = JSON.stringify([
    id,
    rate,
    scope.playbookId ?? null,
    scope.campaignId ?? null,
    window,
    warning,
    critical,
    minimumVolume,
  ]);
  return crypto.createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function fraction(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > 1)
    throw new AlertRuleError(field, `must be a fraction above 0 and at most 1 (0.02 = 2 %), got ${JSON.stringify(value)}`);
  const ppm = Math.round(value * 1_000_000);
  if (Math.abs(ppm - value * 1_000_000) > 1e-6 || ppm === 0)
    throw new AlertRuleError(field, `must be whole parts per million (at most 6 decimals), got ${value}`);
  return ppm / 1_000_000;
}

function idValue(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 200)
    throw new AlertRuleError(field, 'must be a string of 1 to 200 characters');
  return value;
}

/**
 * Validates one rule of a PUT body; fills the lines from the rate's documented thresholds and
 * the minimum volume from the configured default when absent. URL safety is checked apart
 * (webhook-safety.ts): it needs name resolution.
 */
export function parseRule(input: unknown, index: number, defaultMinimumVolume: number): AlertRule {
  const at = `rules[${index}]`;
  if (!isObject(input)) throw new AlertRuleError(at, 'must be an object');
  const known = new Set(['id', 'rate', 'scope', 'window', 'warning', 'critical', 'minimumVolume', 'webhookUrl']);
  for (const key of Object.keys(input))
    if (!known.has(key)) throw new AlertRuleError(`${at}.${key}`, `is not a rule field; expected ${[...known].join(', ')}`);
  if (typeof input.id !== 'string' || !ID_PATTERN.test(input.id))
    throw new AlertRuleError(`${at}.id`, 'must be 1 to 64 characters of letters, digits, _ . -');
  if (typeof input.rate !== 'string' || !ALERT_RATES.includes(input.rate))
    throw new AlertRuleError(`${at}.rate`, `${JSON.stringify(input.rate)} is not one of ${ALERT_RATES.join(', ')}`);
  const scope: AlertScope = {};
  if (input.scope !== undefined) {
    if (!isObject(input.scope)) throw new AlertRuleError(`${at}.scope`, 'must be an object with playbookId and optionally campaignId');
    for (const key of Object.keys(input.scope))
      if (key !== 'playbookId' && key !== 'campaignId')
        throw new AlertRuleError(`${at}.scope.${key}`, 'is not a scope field; expected playbookId, campaignId');
    if (input.scope.playbookId !== undefined) scope.playbookId = idValue(input.scope.playbookId, `${at}.scope.playbookId`);
    if (input.scope.campaignId !== undefined) {
      if (scope.playbookId === undefined)
        throw new AlertRuleError(`${at}.scope.campaignId`, 'needs scope.playbookId (a campaign is one of a playbook)');
      scope.campaignId = idValue(input.scope.campaignId, `${at}.scope.campaignId`);
    }
  }
  const window = input.window ?? '24h';
  const length = typeof window === 'string' ? windowMs(window) : undefined;
  if (length === undefined || length < MIN_WINDOW_MS || length > MAX_WINDOW_MS)
    throw new AlertRuleError(
      `${at}.window`,
      `must be minutes, hours or days from 5m to 7d, such as 1h or 24h; got ${JSON.stringify(window)}`,
    );
  const documented = rateDefinition(input.rate)!.threshold!;
  const warning = input.warning === undefined ? documented.warningPpm / 1_000_000 : fraction(input.warning, `${at}.warning`);
  const critical = input.critical === undefined ? documented.criticalPpm / 1_000_000 : fraction(input.critical, `${at}.critical`);
  if (warning >= critical) throw new AlertRuleError(`${at}.warning`, `must be below critical (${warning} ≥ ${critical})`);
  const minimumVolume = input.minimumVolume ?? defaultMinimumVolume;
  if (typeof minimumVolume !== 'number' || !Number.isSafeInteger(minimumVolume) || minimumVolume < 1)
    throw new AlertRuleError(`${at}.minimumVolume`, `must be a whole number ≥ 1, got ${JSON.stringify(minimumVolume)}`);
  const rule: AlertRule = { id: input.id, rate: input.rate, scope, window: window as string, warning, critical, minimumVolume };
  if (input.webhookUrl !== undefined) {
    if (typeof input.webhookUrl !== 'string' || input.webhookUrl.length > 2000)
      throw new AlertRuleError(`${at}.webhookUrl`, 'must be a URL of at most 2000 characters');
    rule.webhookUrl = input.webhookUrl;
  }
  return rule;
}

export function parseRules(input: unknown, defaultMinimumVolume: number): AlertRule[] {
  if (!Array.isArray(input)) throw new AlertRuleError('rules', 'must be an array of rules');
  if (input.length > MAX_RULES) throw new AlertRuleError('rules', `at most ${MAX_RULES} rules, got ${input.length}`);
  const rules = input.map((rule, index) => parseRule(rule, index, defaultMinimumVolume));
  const seen = new Set<string>();
  rules.forEach((rule, index) => {
    if (seen.has(rule.id)) throw new AlertRuleError(`rules[${index}].id`, `${JSON.stringify(rule.id)} is used by another rule`);
    seen.add(rule.id);
  });
  return rules;
}
