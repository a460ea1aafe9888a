import crypto from 'node:crypto';
import type { ClickHouseClient } from '../platform/clickhouse.js';
import { dateTime64Text } from '../platform/clickhouse-values.js';
import type { AlertRule } from './rules.js';
import type { AlertState } from './state-machine.js';

/**
 * The alert tables (009_alerts.sql). Both are ReplacingMergeTree; every read takes the latest
 * version with `ORDER BY … DESC LIMIT 1 BY key`, never relying on a merge having happened.
 */

export const NOTIFICATION_STATUSES = ['pending', 'retrying', 'delivered', 'failed', 'not_configured'] as const;
export type NotificationStatus = (typeof NOTIFICATION_STATUSES)[number];

export interface StoredRules {
  rules: AlertRule[];
  webhookSecret: string;
  updatedAt: number;
}

export interface AlertEvent {
  tenantId: string;
  ruleId: string;
  ruleFingerprint: string;
  seq: number;
  /** The idempotency key of its notification: the same for whoever records this change. */
  id: string;
  fromState: AlertState;
  toState: AlertState;
  occurredAt: number;
  /** The JSON body of the notification, as first recorded. */
  payload: string;
  webhookUrl: string;
  status: NotificationStatus;
  attempts: number;
  lastError: string;
  nextAttemptAt: number;
  updatedAt: number;
  version: number;
}

/** The id of a state change: a digest of what identifies it, so that two evaluators agree on it. */
export function alertEventId(tenantId: string, ruleId: string, fingerprint: string, seq: number): string {
  return `alrt_${crypto
    .createHash('sha256')
    .update(JSON.stringify([tenantId, ruleId, fingerprint, seq]))
    .digest('hex')
    .slice(0, 32)}`;
}

interface EventRow {
  tenant_id: string;
  rule_id: string;
  rule_fingerprint: string;
  seq: string | number;
  id: string;
  from_state: string;
  to_state: string;
  occurred_ms: string | number;
  payload: string;
  webhook_url: string;
  status: string;
  attempts: string | number;
  last_error: string;
  next_attempt_ms: string | number;
  updated_ms: string | number;
  version: string | number;
}

const EVENT_COLUMNS = `tenant_id, rule_id, rule_fingerprint, seq, id, from_state, to_state,
  toUnixTimestamp64Milli(occurred_at) AS occurred_ms, payload, webhook_url, status, attempts, last_error,
  toUnixTimestamp64Milli(next_attempt_at) AS next_attempt_ms, toUnixTimestamp64Milli(updated_at) AS updated_ms, version`;

function fromRow(row: EventRow): AlertEvent {
  return {
    tenantId: row.tenant_id,
    ruleId: row.rule_id,
    ruleFingerprint: row.rule_fingerprint,
    seq: Number(row.seq),
    id: row.id,
    fromState: row.from_state as AlertState,
    toState: row.to_state as AlertState,
    occurredAt: Number(row.occurred_ms),
    payload: row.payload,
    webhookUrl: row.webhook_url,
    status: row.status as NotificationStatus,
    attempts: Number(row.attempts),
    lastError: row.last_error,
    nextAttemptAt: Number(row.next_attempt_ms),
    updatedAt: Number(row.updated_ms),
    version: Number(row.version),
  };
}

/** The latest version of every event of `where` (columns that never change: tenant, rule, fingerprint, seq). */
const latestEvents = (where: string) =>
  `(SELECT ${EVENT_COLUMNS} FROM alert_events WHERE ${where} ORDER BY version DESC LIMIT 1 BY tenant_id, rule_id, rule_fingerprint, seq)`;

export class AlertStore {
  constructor(private readonly client: ClickHouseClient) {}

  async rules(tenantId: string): Promise<StoredRules | undefined> {
    const result = await this.client.query({
      query: `SELECT rules, webhook_secret, toUnixTimestamp64Milli(updated_at) AS updated_ms FROM alert_rules
        WHERE tenant_id = {tenantId:String} ORDER BY updated_at DESC LIMIT 1`,
      query_params: { tenantId },
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ rules: string; webhook_secret: string; updated_ms: string | number }>();
    return row
      ? { rules: JSON.parse(row.rules) as AlertRule[], webhookSecret: row.webhook_secret, updatedAt: Number(row.updated_ms) }
      : undefined;
  }

  async saveRules(tenantId: string, rules: AlertRule[], webhookSecret: string, nowMs: number): Promise<void> {
    await this.client.insert({
      table: 'alert_rules',
      values: [{ tenant_id: tenantId, rules: JSON.stringify(rules), webhook_secret: webhookSecret, updated_at: dateTime64Text(nowMs) }],
      format: 'JSONEachRow',
    });
  }

  /** Tenants to evaluate: those with rules, and those with outreach in the last `sinceMs` (their default rules). */
  async tenants(sinceMs: number): Promise<string[]> {
    const result = await this.client.query({
      query: `SELECT DISTINCT tenant_id FROM
        (
          SELECT tenant_id FROM alert_rules
          UNION ALL
          SELECT tenant_id FROM delivery_counts_1d WHERE bucket >= toStartOfDay({since:DateTime64(3, 'UTC')})
        )`,
      query_params: { since: dateTime64Text(sinceMs) },
      format: 'JSONEachRow',
    });
    return (await result.json<{ tenant_id: string }>()).map((row) => row.tenant_id).sort();
  }

  /** The latest change of each rule version of a tenant: its state now (none recorded: ok). */
  async latestChanges(tenantId: string): Promise<AlertEvent[]> {
    const result = await this.client.query({
      query: `SELECT * FROM ${latestEvents('tenant_id = {tenantId:String}')}
        ORDER BY seq DESC LIMIT 1 BY rule_id, rule_fingerprint`,
      query_params: { tenantId },
      format: 'JSONEachRow',
    });
    return (await result.json<EventRow>()).map(fromRow);
  }

  /** One event as stored now (the first recorded payload wins, see recordChange). */
  async event(tenantId: string, ruleId: string, fingerprint: string, seq: number): Promise<AlertEvent | undefined> {
    const result = await this.client.query({
      query: `SELECT * FROM ${latestEvents(
        'tenant_id = {tenantId:String} AND rule_id = {ruleId:String} AND rule_fingerprint = {fingerprint:String} AND seq = {seq:UInt64}',
      )}`,
      query_params: { tenantId, ruleId, fingerprint, seq },
      format: 'JSONEachRow',
    });
    const [row] = await result.json<EventRow>();
    return row ? fromRow(row) : undefined;
  }

  /**
   * Records a state change, unless one with this key exists already (then the stored one stands:
   * one state change never gets two different notifications). Returns what is stored.
   */
  async recordChange(event: Omit<AlertEvent, 'version' | 'updatedAt'>, nowMs: number): Promise<AlertEvent> {
    const existing = await this.event(event.tenantId, event.ruleId, event.ruleFingerprint, event.seq);
    if (existing) return existing;
    await this.write({ ...event, updatedAt: nowMs, version: 1 });
    return (await this.event(event.tenantId, event.ruleId, event.ruleFingerprint, event.seq))!;
  }

  /** A notification's progress: a new version of the event row. */
  async updateNotification(
    event: AlertEvent,
    update: Pick<AlertEvent, 'status' | 'attempts' | 'lastError' | 'nextAttemptAt'>,
    nowMs: number,
  ): Promise<AlertEvent> {
    const next = { ...event, ...update, updatedAt: nowMs, version: event.version + 1 };
    await this.write(next);
    return next;
  }

  /**
   * Notifications to send now or retry: pending or retrying at their latest version, due by
   * `nowMs`. Reads every event's latest version (state changes are rare: a table of thousands).
   */
  async dueNotifications(nowMs: number, limit = 200): Promise<AlertEvent[]> {
    const result = await this.client.query({
      query: `SELECT * FROM ${latestEvents('1')}
        WHERE status IN ('pending', 'retrying') AND next_attempt_ms <= {now:Int64}
        ORDER BY next_attempt_ms LIMIT {limit:UInt32}`,
      query_params: { now: nowMs, limit },
      format: 'JSONEachRow',
    });
    return (await result.json<EventRow>()).map(fromRow);
  }

  /** The state changes of a tenant that occurred in [fromMs, toMs], newest first, with their notification's progress. */
  async history(tenantId: string, fromMs: number, toMs: number, limit = 1000): Promise<AlertEvent[]> {
    const result = await this.client.query({
      query: `SELECT * FROM ${latestEvents('tenant_id = {tenantId:String}')}
        WHERE occurred_ms >= {from:Int64} AND occurred_ms <= {to:Int64}
        ORDER BY occurred_ms DESC, seq DESC LIMIT {limit:UInt32}`,
      query_params: { tenantId, from: fromMs, to: toMs, limit },
      format: 'JSONEachRow',
    });
    return (await result.json<EventRow>()).map(fromRow);
  }

  private async write(event: AlertEvent): Promise<void> {
    await this.client.insert({
      table: 'alert_events',
      values: [
        {
          tenant_id: event.tenantId,
          rule_id: event.ruleId,
          rule_fingerprint: event.ruleFingerprint,
          seq: event.seq,
          id: event.id,
          from_state: event.fromState,
          to_state: event.toState,
          occurred_at: dateTime64Text(event.occurredAt),
          payload: event.payload,
          webhook_url: event.webhookUrl,
          status: event.status,
          attempts: event.attempts,
          last_error: event.lastError,
          next_attempt_at: dateTime64Text(event.nextAttemptAt),
          updated_at: dateTime64Text(event.updatedAt),
          version: event.version,
        },
      ],
      format: 'JSONEachRow',
    });
  }
}
