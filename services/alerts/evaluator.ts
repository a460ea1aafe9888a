import crypto from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import { Counter, type Registry } from 'prom-client';
import type { ClickHouseClient } from '../platform/clickhouse.js';
import type { Config } from '../platform/config.js';
import { ensureTopics } from '../platform/kafka.js';
import type { Logger } from '../platform/logger.js';
import { MIN_TIME_MS, queryOutreach, rateDefinition, rateOf, ratesOf, type JudgedRate } from '../reporting/index.js';
import { Notifier } from './notifier.js';
import { defaultRules, ruleFingerprint, ruleThreshold, windowMs, type AlertRule } from './rules.js';
import { nextState, type AlertState } from './state-machine.js';
import { alertEventId, AlertStore } from './store.js';

/**
 * The alert evaluator (`run --role alerts`, part of `all`). Every ALERTS_EVALUATE_EVERY_MS it
 * evaluates the rules of the tenants it owns — each rule's rate over its trailing window, through
 * the same exact range queries as the API — moves each rule's state (state-machine.ts), records
 * every change in `alert_events`, and sends the notifications due (notifier.ts).
 *
 * One evaluator acts on a tenant at a time, with any number of replicas: the evaluators form a
 * Kafka consumer group over the `alert-evaluators` topic (nothing is published to it; its
 * partitions are the units of ownership) and a tenant belongs to partition
 * sha256(tenant) mod partitions. An instance evaluates and notifies only for the partitions the
 * group assigned it, and drops them the moment a rebalance starts (the eager protocol revokes
 * everything before reassigning). The state lives in ClickHouse, not in the process: a change's
 * key is (tenant, rule, rule fingerprint, seq = previous + 1), so the evaluator that takes over
 * after a crash or a rebalance continues the sequence, and a change recorded twice under one key
 * keeps its first record — one change, one notification.
 */

export interface AlertEvaluatorDeps {
  config: Config;
  kafka: Kafka;
  clickhouse: ClickHouseClient;
  logger: Logger;
  registry?: Registry;
  /** Names this instance in the group and the logs. */
  instanceId?: string;
}

export function alertTopic(config: Pick<Config, 'topicPrefix'>): string {
  return `${config.topicPrefix}alert-evaluators`;
}

export function partitionOfTenant(tenantId: string, partitions: number): number {
  return crypto.createHash('sha256').update(tenantId).digest().readUInt32BE(0) % partitions;
}

export class AlertEvaluator {
  private readonly store: AlertStore;
  private readonly notifier: Notifier;
  private readonly log: Logger;
  private consumer: Consumer | undefined;
  private partitions = 0;
  private owned = new Set<number>();
  private timer: NodeJS.Timeout | undefined;
  private notifyTimer: NodeJS.Timeout | undefined;
  private evaluating: Promise<void> | undefined;
  private notifying: Promise<void> | undefined;
  private running = false;
  private joined = false;
  private readonly changes: Counter | undefined;

  constructor(private readonly deps: AlertEvaluatorDeps) {
    this.store = new AlertStore(deps.clickhouse);
    this.log = deps.logger.child({ component: 'alerts', instance: deps.instanceId ?? 'alerts' });
    const registers = deps.registry ? [deps.registry] : [];
    this.changes = deps.registry
      ? new Counter({
          name: 'sending_metrics_alert_state_changes_total',
          help: 'Alert state changes recorded',
          labelNames: ['to'],
          registers,
        })
      : undefined;
    const notifications = deps.registry
      ? new Counter({
          name: 'sending_metrics_alert_notifications_total',
          help: 'Alert notification attempts by outcome',
          labelNames: ['outcome'],
          registers,
        })
      : undefined;
    const { alerts } = deps.config;
    this.notifier = new Notifier(
      this.store,
      async (tenantId) => (await this.store.rules(tenantId))?.webhookSecret,
      {
        timeoutMs: alerts.webhookTimeoutMs,
        retryBaseMs: alerts.retryBaseMs,
        retryForMs: alerts.retryForMs,
        allowPrivate: alerts.allowPrivateWebhooks,
      },
      this.log,
      Math.random,
      (outcome) => notifications?.inc({ outcome }),
    );
  }

  /** Joined its group (a member owning no partition has joined too). */
  health(): { ok: boolean; detail?: string } {
    if (!this.running) return { ok: false, detail: 'not running' };
    return this.joined ? { ok: true } : { ok: false, detail: 'joining the alert evaluators group' };
  }

  /** Whether this instance acts for the tenant now. */
  owns(tenantId: string): boolean {
    return this.partitions > 0 && this.owned.has(partitionOfTenant(tenantId, this.partitions));
  }

  async start(): Promise<void> {
    const { config, kafka } = this.deps;
    this.running = true;
    const topic = alertTopic(config);
    const admin = kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, config.topicPartitions, [topic], { replicationFactor: config.topicReplicationFactor });
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
      this.partitions = metadata.topics[0]?.partitions.length ?? 0;
    } finally {
      await admin.disconnect();
    }
    const consumer = kafka.consumer({ groupId: config.alerts.groupId, sessionTimeout: config.ingest.sessionTimeoutMs });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      this.owned = new Set(event.payload.memberAssignment[topic] ?? []);
      this.joined = true;
      this.log.info({ partitions: [...this.owned].sort((a, b) => a - b) }, 'alert evaluator owns its partitions');
      void this.tick();
    });
    const drop = () => {
      this.owned = new Set();
    };
    consumer.on(consumer.events.REBALANCING, drop);
    consumer.on(consumer.events.STOP, drop);
    consumer.on(consumer.events.CRASH, drop);
    await consumer.connect();
    await consumer.subscribe({ topics: [topic] });
    await consumer.run({ eachMessage: async () => undefined });
    this.timer = setInterval(() => void this.tick(), config.alerts.evaluateEveryMs);
    this.notifyTimer = setInterval(() => void this.notify(), Math.min(1000, config.alerts.evaluateEveryMs));
  }

  async stop(): Promise<void> {
    this.running = false;
    clearInterval(this.timer);
    clearInterval(this.notifyTimer);
    this.owned = new Set();
    await this.evaluating?.catch(() => undefined);
    await this.notifying?.catch(() => undefined);
    await this.notifier.idle();
    await this.consumer?.disconnect().catch(() => undefined);
  }

  /** One evaluation of every owned tenant (skipped while the previous one still runs). */
  tick(nowMs = Date.now()): Promise<void> {
    if (!this.running || this.evaluating) return this.evaluating ?? Promise.resolve();
    this.evaluating = this.evaluateOwned(nowMs)
      .catch((error: Error) => this.log.warn({ err: error }, 'alert evaluation failed; retried at the next tick'))
      .finally(() => {
        this.evaluating = undefined;
      });
    return this.evaluating;
  }

  private notify(): Promise<void> {
    if (!this.running || this.notifying) return this.notifying ?? Promise.resolve();
    this.notifying = this.notifier
      .sendDue((tenantId) => this.owns(tenantId))
      .then(() => undefined)
      .catch((error: Error) => this.log.warn({ err: error }, 'cannot read the due notifications now'))
      .finally(() => {
        this.notifying = undefined;
      });
    return this.notifying;
  }

  private async evaluateOwned(nowMs: number): Promise<void> {
    if (this.owned.size === 0) return;
    const tenants = (await this.store.tenants(nowMs - 25 * 3_600_000)).filter((tenant) => this.owns(tenant));
    let changed = false;
    for (const tenant of tenants) {
      if (!this.running) return;
      if (await this.evaluateTenant(tenant, nowMs)) changed = true;
    }
    if (changed) void this.notify();
  }

  /** Evaluates a tenant's rules; true when a state changed. */
  async evaluateTenant(tenantId: string, nowMs: number): Promise<boolean> {
    const stored = await this.store.rules(tenantId);
    const rules = stored?.rules ?? defaultRules(this.deps.config.api.rateMinimumVolume);
    const latest = new Map(
      (await this.store.latestChanges(tenantId)).map((event) => [`${event.ruleId}\u0000${event.ruleFingerprint}`, event]),
    );
    let changed = false;
    // Rules over the same window and scope (the two defaults: 24 h, all outreach) share one read.
    const outreach = new Map<string, ReturnType<typeof queryOutreach>>();
    for (const rule of rules) {
      const fingerprint = ruleFingerprint(rule);
      const last = latest.get(`${rule.id}\u0000${fingerprint}`);
      const current: AlertState = last?.toState ?? 'ok';
      const length = windowMs(rule.window)!;
      const range = {
        tenantId,
        fromMs: Math.max(MIN_TIME_MS, nowMs - length + 1),
        toMs: nowMs,
        playbookId: rule.scope.playbookId,
        campaignId: rule.scope.campaignId,
      };
      const definition = rateDefinition(rule.rate)!;
      const key = JSON.stringify([rule.window, rule.scope.playbookId ?? null, rule.scope.campaignId ?? null]);
      if (!outreach.has(key)) outreach.set(key, queryOutreach(this.deps.clickhouse, range));
      const counts = await outreach.get(key)!;
      const rate = rateOf(ratesOf(counts, rule.minimumVolume), definition);
      const threshold = ruleThreshold(rule);
      const evaluation = nextState(current, rate.numerator, rate.denominator, threshold, rule.minimumVolume);
      if (evaluation.state === current) continue;
      // Ownership may have moved while the rate was read: the new owner records this change.
      if (!this.owns(tenantId) || !this.running) return changed;
      const seq = (last?.seq ?? 0) + 1;
      const id = alertEventId(tenantId, rule.id, fingerprint, seq);
      const payload = this.payload({ id, tenantId, rule, range, rate, threshold, before: current, after: evaluation.state, nowMs });
      const recorded = await this.store.recordChange(
        {
          tenantId,
          ruleId: rule.id,
          ruleFingerprint: fingerprint,
          seq,
          id,
          fromState: current,
          toState: evaluation.state,
          occurredAt: nowMs,
          payload,
          webhookUrl: rule.webhookUrl ?? '',
          status: rule.webhookUrl ? 'pending' : 'not_configured',
          attempts: 0,
          lastError: '',
          nextAttemptAt: nowMs,
        },
        nowMs,
      );
      this.changes?.inc({ to: recorded.toState });
      this.log.info({ tenantId, ruleId: rule.id, from: current, to: evaluation.state, alertEventId: id }, 'alert state changed');
      changed = true;
    }
    return changed;
  }

  private payload(p: {
    id: string;
    tenantId: string;
    rule: AlertRule;
    range: { fromMs: number; toMs: number; playbookId?: string; campaignId?: string };
    rate: JudgedRate;
    threshold: { warningPpm: number; criticalPpm: number; source: string };
    before: AlertState;
    after: AlertState;
    nowMs: number;
  }): string {
    const from = new Date(p.range.fromMs).toISOString();
    const to = new Date(p.range.toMs).toISOString();
    const link = new URL('/', this.deps.config.alerts.publicUrl);
    link.searchParams.set('from', from);
    link.searchParams.set('to', to);
    if (p.range.playbookId) link.searchParams.set('playbookId', p.range.playbookId);
    if (p.range.campaignId) link.searchParams.set('campaignId', p.range.campaignId);
    return JSON.stringify({
      id: p.id,
      type: 'alert.state_changed',
      tenant: p.tenantId,
      rule: { id: p.rule.id, rate: p.rule.rate, window: p.rule.window, minimumVolume: p.rule.minimumVolume },
      scope: p.rule.scope,
      rate: { id: p.rule.rate, numerator: p.rate.numerator, denominator: p.rate.denominator, value: p.rate.value },
      threshold: { warning: p.threshold.warningPpm / 1_000_000, critical: p.threshold.criticalPpm / 1_000_000, source: p.threshold.source },
      window: { length: p.rule.window, from, to },
      state: { before: p.before, after: p.after },
      occurredAt: new Date(p.nowMs).toISOString(),
      dashboard: link.toString(),
    });
  }
}
