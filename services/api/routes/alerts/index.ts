import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { ClickHouseClient } from '../../../platform/clickhouse.js';
import {
  AlertStore,
  checkWebhookUrl,
  defaultRules,
  derivedWebhookSecret,
  newWebhookSecret,
  parseRules,
  ruleFingerprint,
  ruleThreshold,
  secretHint,
  type AlertEvent,
  type AlertRule,
} from '../../../alerts/index.js';
import { parseRange } from '../../shared/range-params.js';
import { errorResponses } from '../../shared/schemas.js';
import { EventsQuerystring, EventsView, RulesBody, RulesView } from './schemas.js';

export interface AlertsRoutesOptions {
  clickhouse: ClickHouseClient;
  maxRangeDays: number;
  /** Default minimum volume of a rule (RATE_MINIMUM_VOLUME). */
  minimumVolume: number;
  /** ALERTS_ALLOW_PRIVATE_WEBHOOKS. */
  allowPrivateWebhooks: boolean;
  /**
   * What a tenant's first webhook secret is derived from (the JWT secret every replica shares), so
   * that every replica generates the same one; without it a random secret (one process only).
   */
  secretSeed?: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

function hostOf(url: string): string | null {
  try {
    return new URL(url).host;
  } catch {
    return null;
  }
}

/** /v1/alerts/*: the token's tenant's alert rules and the history of their state changes. */
export async function alertsRoutes(app: FastifyInstance, options: AlertsRoutesOptions): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.addHook('onRequest', app.authenticate);
  const store = new AlertStore(options.clickhouse);
  /** Rule replacements of one tenant, one at a time in this process (each reads what the one before stored). */
  const replacing = new Map<string, Promise<unknown>>();
  const oneAtATime = <T>(tenantId: string, work: () => Promise<T>): Promise<T> => {
    const previous = replacing.get(tenantId) ?? Promise.resolve();
    const result = previous.then(work, work);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    replacing.set(tenantId, tail);
    void tail.then(() => {
      if (replacing.get(tenantId) === tail) replacing.delete(tenantId);
    });
    return result;
  };
  const firstSecret = (tenantId: string) =>
    options.secretSeed === undefined ? newWebhookSecret() : derivedWebhookSecret(options.secretSeed, tenantId);

  async function view(tenantId: string, generatedSecret?: string) {
    const stored = await store.rules(tenantId);
    const rules: AlertRule[] = stored?.rules ?? defaultRules(options.minimumVolume);
    const latest = new Map((await store.latestChanges(tenantId)).map((event) => [`${event.ruleId}\u0000${event.ruleFingerprint}`, event]));
    return {
      rules: rules.map((rule) => {
        const last = latest.get(`${rule.id}\u0000${ruleFingerprint(rule)}`);
        return {
          id: rule.id,
          rate: rule.rate,
          scope: rule.scope,
          window: rule.window,
          warning: rule.warning,
          critical: rule.critical,
          minimumVolume: rule.minimumVolume,
          webhookUrl: rule.webhookUrl ?? null,
          threshold: { source: ruleThreshold(rule).source },
          state: last?.toState ?? 'ok',
          since: last ? iso(last.occurredAt) : null,
        };
      }),
      defaults: stored === undefined,
      webhookSecretHint: stored?.webhookSecret ? secretHint(stored.webhookSecret) : null,
      ...(generatedSecret ? { webhookSecret: generatedSecret } : {}),
      updatedAt: stored ? iso(stored.updatedAt) : null,
    };
  }

  api.get(
    '/v1/alerts/rules',
    {
      config: { scope: 'metrics:read' },
      schema: {
        tags: ['alerts'],
        summary: 'Your alert rules and the state of each',
        description:
          'Without rules of your own, the defaults: spam complaint rate and bounce rate over 24 h at the documented lines, recorded in the history but not notified. The webhook secret is never answered, only its last 4 characters.',
        response: { 200: RulesView, ...errorResponses(401, 429, 503) },
      },
    },
    async (request) => view(request.principal.tenantId),
  );

  api.put(
    '/v1/alerts/rules',
    {
      config: { scope: 'alerts:write' },
      schema: {
        tags: ['alerts'],
        summary: 'Replace your alert rules',
        description:
          'Replaces the whole rule set. A rule whose rate, scope, window, lines or minimum volume change starts again from ok. Every webhookUrl must be https and must not resolve to a loopback, private, link-local or metadata address. Notifications are POSTs signed with `Sending-Metrics-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` under your webhook secret, with an `Idempotency-Key` that is the same on every retry.',
        body: RulesBody,
        response: { 200: RulesView, ...errorResponses(400, 401, 413, 415, 429, 503) },
      },
    },
    async (request) => {
      const tenantId = request.principal.tenantId;
      // A refusal (AlertRuleError, WebhookUrlError) names its field; the error plugin answers it.
      const rules = parseRules(request.body.rules, options.minimumVolume);
      for (const [index, rule] of rules.entries()) {
        if (rule.webhookUrl !== undefined)
          await checkWebhookUrl(rule.webhookUrl, options.allowPrivateWebhooks, `rules[${index}].webhookUrl`);
      }
      // One replacement at a time per tenant here; across replicas the first secret is the same
      // wherever it is generated (derived from the shared seed), so whichever write wins stores
      // the secret every answer showed.
      return oneAtATime(tenantId, async () => {
        const stored = await store.rules(tenantId);
        const generated = request.body.webhookSecret === undefined && !stored?.webhookSecret ? firstSecret(tenantId) : undefined;
        const secret = request.body.webhookSecret ?? stored?.webhookSecret ?? generated!;
        // Strictly later than the stored version, also within one millisecond.
        await store.saveRules(tenantId, rules, secret, Math.max(Date.now(), (stored?.updatedAt ?? 0) + 1));
        request.log.info({ tenantId, rules: rules.length }, 'alert rules replaced');
        return view(tenantId, generated);
      });
    },
  );

  api.get(
    '/v1/alerts/events',
    {
      config: { scope: 'metrics:read' },
      schema: {
        tags: ['alerts'],
        summary: 'State changes of your alert rules and their notifications',
        description:
          'Newest first. notification.status: pending (not yet sent), retrying (see attempts, lastError, nextAttemptAt), delivered, failed (retried for ALERTS_RETRY_FOR_MS, then given up), not_configured (the rule has no webhookUrl).',
        querystring: EventsQuerystring,
        response: { 200: EventsView, ...errorResponses(400, 401, 429, 503) },
      },
    },
    async (request) => {
      const { fromMs, toMs } = parseRange(request.query, options.maxRangeDays);
      const events = await store.history(request.principal.tenantId, fromMs, toMs);
      return { events: events.map(eventView) };
    },
  );
}

function eventView(event: AlertEvent) {
  const payload = JSON.parse(event.payload) as {
    rate: { id: string; numerator: number; denominator: number; value: number | null };
    window: { length: string; from: string; to: string };
    scope: { playbookId?: string; campaignId?: string };
  };
  return {
    id: event.id,
    ruleId: event.ruleId,
    occurredAt: iso(event.occurredAt),
    from: event.fromState,
    to: event.toState,
    rate: payload.rate,
    window: payload.window,
    scope: payload.scope,
    notification: {
      status: event.status,
      attempts: event.attempts,
      lastError: event.lastError === '' ? null : event.lastError,
      nextAttemptAt: event.status === 'retrying' ? iso(event.nextAttemptAt) : null,
      host: event.webhookUrl ? hostOf(event.webhookUrl) : null,
    },
  };
}
