import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../platform/logger.js';
import { Notifier } from './notifier.js';
import { verifySignature } from './signature.js';
import type { AlertEvent, AlertStore } from './store.js';

/** The notifier against a real local receiver and an in-memory store (a fake of the ClickHouse one). */

const SECRET = 'whsec_unit_0123456789abcdefghijklmnop';
let server: http.Server;
let url: string;
let status = 200;
const seen: Array<{ key: string; ok: boolean }> = [];

beforeAll(async () => {
  server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      seen.push({
        key: String(request.headers['idempotency-key']),
        ok: verifySignature(SECRET, request.headers['sending-metrics-signature'] as string, body),
      });
      response.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
});

afterAll(() => server.close());

function event(overrides: Partial<AlertEvent> = {}): AlertEvent {
  return {
    tenantId: 't',
    ruleId: 'r',
    ruleFingerprint: 'f',
    seq: 1,
    id: 'alrt_unit',
    fromState: 'ok',
    toState: 'critical',
    occurredAt: Date.now(),
    payload: '{"id":"alrt_unit"}',
    webhookUrl: url,
    status: 'pending',
    attempts: 0,
    lastError: '',
    nextAttemptAt: Date.now(),
    updatedAt: Date.now(),
    version: 1,
    ...overrides,
  };
}

function fakeStore(): { store: AlertStore; updates: AlertEvent[] } {
  const updates: AlertEvent[] = [];
  const store = {
    updateNotification: async (e: AlertEvent, update: Partial<AlertEvent>, nowMs: number) => {
      const next = { ...e, ...update, updatedAt: nowMs, version: e.version + 1 };
      updates.push(next);
      return next;
    },
    dueNotifications: async () => [],
  } as unknown as AlertStore;
  return { store, updates };
}

const options = { timeoutMs: 2000, retryBaseMs: 1000, retryForMs: 86_400_000, allowPrivate: true };

describe('Notifier', () => {
  it('delivers a signed POST with the idempotency key and records it', async () => {
    status = 200;
    const { store, updates } = fakeStore();
    const notifier = new Notifier(store, async () => SECRET, options, createLogger('silent'));
    const result = await notifier.attempt(event());
    expect(result).toMatchObject({ status: 'delivered', attempts: 1, lastError: '', version: 2 });
    expect(seen.at(-1)).toEqual({ key: 'alrt_unit', ok: true });
    expect(updates).toHaveLength(1);
  });

  it('schedules a retry with backoff, and gives up as failed once the retry period is over', async () => {
    status = 500;
    const { store } = fakeStore();
    const notifier = new Notifier(
      store,
      async () => SECRET,
      options,
      createLogger('silent'),
      () => 1,
    );
    const before = Date.now();
    const retrying = await notifier.attempt(event({ attempts: 2 }));
    expect(retrying).toMatchObject({ status: 'retrying', attempts: 3, lastError: 'HTTP 500' });
    // Third failure: base × 2² = 4 s (jitter at its top).
    expect(retrying.nextAttemptAt - before).toBeGreaterThanOrEqual(4000);
    const old = await notifier.attempt(event({ occurredAt: Date.now() - 86_400_000 - 1, attempts: 40 }));
    expect(old).toMatchObject({ status: 'failed', attempts: 41, lastError: 'HTTP 500' });
  });

  it('refuses private addresses at connection time unless allowed', async () => {
    const { store } = fakeStore();
    const notifier = new Notifier(store, async () => SECRET, { ...options, allowPrivate: false }, createLogger('silent'));
    const refused = await notifier.attempt(event({ webhookUrl: url.replace('http:', 'https:') }));
    expect(refused.status).toBe('retrying');
    expect(refused.lastError).toBe('refused: the address is not allowed');
    const http = await notifier.attempt(event());
    expect(http.lastError).toBe('refused: http: webhooks are not allowed');
  });
});
