import { describe, expect, it } from 'vitest';
import type { DeliveryEvent, SendingEvent } from '../events/types.js';
import { EMAIL_ONLY_STATUSES } from '../events/types.js';
import { validateEvent } from '../events/validate.js';
import { createSimulator, SIMULATOR_DEFAULTS, type SimulatorOptions } from './simulator.js';

const EMAIL_ONLY: ReadonlySet<string> = new Set(EMAIL_ONLY_STATUSES);

function count<T>(items: T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

describe('simulator', () => {
  const events = createSimulator({ seed: 42, tenants: 4, campaigns: 7 }).take(50_000);
  const deliveries = events.filter((event): event is DeliveryEvent => event.type === 'delivery');

  it('produces only valid, already normalised events with unique ids', () => {
    const changedOrInvalid = events.filter((event) => {
      const result = validateEvent(event);
      return !result.ok || JSON.stringify(result.event) !== JSON.stringify(event);
    });
    expect(changedOrInvalid).toEqual([]);
    expect(new Set(events.map((event) => event.eventId)).size).toBe(events.length);
  });

  it('never gives an sms an email-only status', () => {
    const sms = deliveries.filter((event) => event.channel === 'sms');
    expect(sms.length).toBeGreaterThan(5000);
    expect(sms.filter((event) => EMAIL_ONLY.has(event.status))).toEqual([]);
  });

  it('covers every action, channel and status, and the tenants and campaigns asked for', () => {
    expect(
      Object.keys(count(events, (event) => (event.type === 'assignment' ? event.action : `${event.channel}.${event.status}`))).sort(),
    ).toEqual([
      'email.blocked',
      'email.bounced',
      'email.delivered',
      'email.expired',
      'email.failed',
      'email.rejected',
      'email.sent',
      'email.spam_reported',
      'entered',
      'exited',
      'sms.expired',
      'sms.failed',
      'sms.rejected',
      'sms.sent',
    ]);
    expect(new Set(events.map((event) => event.tenantId)).size).toBe(4);
    expect(new Set(events.map((event) => `${event.tenantId}/${event.type === 'assignment' ? event.campaignId : ''}`)).size).toBe(4 * 7 + 4);
    expect(deliveries.some((event) => event.campaignId === null && event.playbookId === null)).toBe(true);
  });

  it('moves each message through a plausible sequence of statuses', () => {
    const byMessage = new Map<string, string[]>();
    for (const event of deliveries) byMessage.set(event.messageId, [...(byMessage.get(event.messageId) ?? []), event.status]);
    const allowed = new Set([
      'sent',
      'failed',
      'rejected',
      'expired',
      'sent>delivered',
      'sent>delivered>spam_reported',
      'sent>bounced',
      'sent>blocked',
    ]);
    const sequences = count([...byMessage.values()], (statuses) => statuses.join('>'));
    // A message still in progress when the stream was cut may show only its first statuses.
    expect(Object.keys(sequences).filter((sequence) => !allowed.has(sequence))).toEqual([]);
    expect(sequences['sent>delivered']).toBeGreaterThan(sequences['sent>bounced'] ?? 0);
  });

  it('has customers enter a campaign before they exit it, and most of them exit', () => {
    const inside = new Map<string, number>();
    let exitsBeforeEntry = 0;
    for (const event of events) {
      if (event.type !== 'assignment') continue;
      const key = `${event.tenantId}/${event.customerId}/${event.campaignId}`;
      const now = (inside.get(key) ?? 0) + (event.action === 'entered' ? 1 : -1);
      if (now < 0) exitsBeforeEntry++;
      inside.set(key, now);
    }
    expect(exitsBeforeEntry).toBe(0);
    const actions = count(events, (event) => (event.type === 'assignment' ? event.action : 'delivery'));
    expect(actions.exited).toBeGreaterThan((actions.entered ?? 0) * 0.6);
  });

  it('is reproducible from its seed and differs across seeds', () => {
    const first = (seed: number): SendingEvent[] => createSimulator({ seed }).take(200);
    expect(first(7)).toEqual(first(7));
    expect(first(7)[0]?.eventId).not.toBe(first(8)[0]?.eventId);
  });

  it('spreads times over the window, inclusive, or stamps them with the clock', () => {
    const startMs = Date.parse('2026-03-01T00:00:00.000Z');
    const times = createSimulator({ seed: 3, startMs, spreadMs: 9 })
      .take(2000)
      .map((event) => Date.parse(event.occurredAt) - startMs);
    expect(new Set(times)).toEqual(new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    const clocked = createSimulator({ clock: () => Date.parse('2026-05-05T05:05:05.005Z') }).next();
    expect(clocked.occurredAt).toBe('2026-05-05T05:05:05.005Z');
  });

  it('refuses impossible options', () => {
    expect(() => createSimulator({ tenants: 0 })).toThrow('simulator tenants must be a whole number ≥ 1, got 0');
    expect(() => createSimulator({ incident: { kind: 'fire' as 'spam' } })).toThrow(
      'simulator incident must be one of bounces, spam, sms-carrier, got fire',
    );
  });
});

/** Per campaign (tenant/campaign) of a stream: the rates the API computes, from the same statuses. */
function campaignRates(options: SimulatorOptions, events: number) {
  const counts = new Map<string, Record<string, number>>();
  for (const event of createSimulator(options).take(events)) {
    if (event.type !== 'delivery' || event.campaignId === null) continue;
    const key = `${event.tenantId}/${event.campaignId}`;
    const row = counts.get(key) ?? {};
    row[`${event.channel}.${event.status}`] = (row[`${event.channel}.${event.status}`] ?? 0) + 1;
    counts.set(key, row);
  }
  return [...counts].map(([campaign, c]) => {
    const n = (name: string) => c[name] ?? 0;
    const smsAttempted = n('sms.sent') + n('sms.failed') + n('sms.rejected') + n('sms.expired');
    return {
      campaign,
      delivered: n('email.delivered'),
      spam: n('email.spam_reported') / n('email.delivered'),
      bounce: n('email.bounced') / n('email.sent'),
      block: n('email.blocked') / n('email.sent'),
      smsFailure: (n('sms.failed') + n('sms.rejected') + n('sms.expired')) / smsAttempted,
    };
  });
}

describe('simulator rates', () => {
  const EVENTS = 150_000;
  const seed = SIMULATOR_DEFAULTS.seed;

  it('by default looks like a healthy sender: rates in the ranges real senders see, spam complaints under 0.1 % for most campaigns', () => {
    const rows = campaignRates({ seed }, EVENTS);
    expect(rows).toHaveLength(SIMULATOR_DEFAULTS.tenants * SIMULATOR_DEFAULTS.campaigns);
    expect(Math.min(...rows.map((row) => row.delivered))).toBeGreaterThan(1000);
    expect(rows.filter((row) => row.spam < 0.001).length).toBeGreaterThan(rows.length * 0.8);
    expect(rows.filter((row) => row.spam >= 0.003)).toEqual([]);
    for (const row of rows) {
      expect(row.bounce, row.campaign).toBeGreaterThan(0.003);
      expect(row.bounce, row.campaign).toBeLessThan(0.02);
      expect(row.block, row.campaign).toBeLessThan(0.01);
      expect(row.smsFailure, row.campaign).toBeGreaterThan(0.005);
      expect(row.smsFailure, row.campaign).toBeLessThan(0.035);
    }
  });

  it.each([
    ['spam', 'spam', 0.003],
    ['bounces', 'bounce', 0.05],
    ['sms-carrier', 'smsFailure', 0.05],
  ] as const)(
    'with the %s incident, drives the first campaign of the first tenant over the critical line, only it',
    (kind, rate, critical) => {
      const rows = campaignRates({ seed, incident: { kind, afterEvents: EVENTS / 3 } }, EVENTS);
      expect(rows.filter((row) => row[rate] >= critical).map((row) => row.campaign)).toEqual(['acme/cm-1']);
    },
  );
});
