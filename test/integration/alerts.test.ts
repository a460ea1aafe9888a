import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AlertEvaluator,
  AlertStore,
  IDEMPOTENCY_HEADER,
  partitionOfTenant,
  SIGNATURE_HEADER,
  signatureHeader,
  verifySignature,
} from '../../services/alerts/index.js';
import type { DeliveryEvent, SendingEvent } from '../../services/events/types.js';
import type { ClickHouseHandle } from '../../services/platform/clickhouse.js';
import type { Config } from '../../services/platform/config.js';
import { createKafka } from '../../services/platform/kafka.js';
import { createLogger } from '../../services/platform/logger.js';
import { applyMigrations } from '../../services/migrations/migrate.js';
import { createSimulator } from '../../services/producer/simulator.js';
import { insertEvents } from '../../fixtures/raw-tables.js';
import { bearer, buildTestApp } from '../support/api.js';
import { openTestClickHouse } from '../support/clickhouse.js';
import { waitFor } from '../support/wait-for.js';
import { deleteTopics } from '../support/kafka.js';

/**
 * Alerts end to end on the real engine and broker: simulator traffic whose bounce rate is driven
 * over the critical line and back, two evaluator instances in one group, a local receiver that
 * verifies every signature and answers 500 for a while.
 */

const TENANT = 'acme-alerts';
const SECRET = 'whsec_test_0123456789abcdefghijklmnop';

interface Received {
  key: string;
  signatureOk: boolean;
  body: { id: string; state: { before: string; after: string }; rate: { numerator: number; denominator: number }; dashboard: string };
  answered: number;
}

let handle: ClickHouseHandle;
let config: Config;
let app: FastifyInstance;
let receiver: http.Server;
let receiverUrl: string;
/** A receiver that never answers. */
let hanging: http.Server;
let hangingUrl: string;
const received: Received[] = [];
let failNext = 0;
const evaluators: AlertEvaluator[] = [];
let offset = 0;

beforeAll(async () => {
  const opened = await openTestClickHouse('alerts');
  handle = opened.handle;
  const suffix = Date.now();
  config = {
    ...opened.config,
    topicPrefix: `alerts-${suffix}.`,
    alerts: {
      ...opened.config.alerts,
      groupId: `alerts-test-${suffix}`,
      evaluateEveryMs: 250,
      retryBaseMs: 100,
      webhookTimeoutMs: 1000,
      allowPrivateWebhooks: true,
      publicUrl: 'https://metrics.example.com/',
    },
  };
  await applyMigrations(handle.client, createLogger('silent'));
  receiver = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      const answered = failNext > 0 ? 500 : 200;
      if (failNext > 0) failNext -= 1;
      received.push({
        key: String(request.headers[IDEMPOTENCY_HEADER]),
        signatureOk: verifySignature(SECRET, request.headers[SIGNATURE_HEADER] as string | undefined, body),
        body: JSON.parse(body) as Received['body'],
        answered,
      });
      response.writeHead(answered).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/alerts?token=receiver-token`;
  hanging = http.createServer(() => undefined);
  await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
  hangingUrl = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/never`;
  app = await buildTestApp(config, handle.client);
  const logger = createLogger(process.env.LOG_LEVEL ?? 'silent');
  for (const name of ['a', 'b']) {
    const evaluator = new AlertEvaluator({
      config,
      kafka: createKafka(config, logger, `alerts-test-${name}`),
      clickhouse: handle.client,
      logger,
      instanceId: name,
    });
    evaluators.push(evaluator);
    await evaluator.start();
  }
});

afterAll(async () => {
  for (const evaluator of evaluators) await evaluator.stop();
  await app?.close();
  receiver?.close();
  hanging?.closeAllConnections();
  hanging?.close();
  await deleteTopics(createKafka(config, createLogger('silent')), [`${config.topicPrefix}alert-evaluators`]).catch(() => undefined);
  await handle?.close();
});

/** Emails of the simulator, statuses replaced as the step needs, at instants of the last few minutes. */
function emails(count: number, status: DeliveryEvent['status'], seed: number, tenantId = TENANT): SendingEvent[] {
  const now = Date.now();
  const simulator = createSimulator({ seed, tenants: 1, startMs: now - 5 * 60_000, spreadMs: 4 * 60_000 });
  const out: SendingEvent[] = [];
  while (out.length < count) {
    const event = simulator.next();
    if (event.type !== 'delivery' || event.channel !== 'email') continue;
    out.push({ ...event, tenantId, status, eventId: `${event.eventId}-${tenantId}-${seed}-${out.length}` });
  }
  return out;
}

async function insert(events: SendingEvent[]): Promise<void> {
  await insertEvents(handle.client, events, offset);
  offset += events.length;
}

const delivered = () => received.filter((r) => r.answered === 200);

describe('alerts', () => {
  it('refuses webhooks to metadata and loopback addresses without the allow setting, with a 400 saying why', async () => {
    const strict = await buildTestApp({ ...config, alerts: { ...config.alerts, allowPrivateWebhooks: false } }, handle.client);
    try {
      for (const [url, why] of [
        ['http://169.254.169.254/', /rules\[0\]\.webhookUrl: must use https/],
        [
          'https://169.254.169.254/latest',
          /^body parameter rules\[0\]\.webhookUrl: is not allowed: its host must resolve to public addresses only/,
        ],
        ['https://127.0.0.1/', /^body parameter rules\[0\]\.webhookUrl: is not allowed: [^0-9]*$/],
        ['https://[::127.0.0.1]/', /^body parameter rules\[0\]\.webhookUrl: is not allowed: [^0-9]*$/],
        ['https://[::7f00:1]/', /^body parameter rules\[0\]\.webhookUrl: is not allowed: [^0-9]*$/],
        ['https://localhost/', /^body parameter rules\[0\]\.webhookUrl: is not allowed: (?!.*(127|::1|loopback))/],
      ] as const) {
        const response = await strict.inject({
          method: 'PUT',
          url: '/v1/alerts/rules',
          headers: bearer('t-ssrf'),
          payload: { rules: [{ id: 'r', rate: 'email.bounceRate', webhookUrl: url }] },
        });
        expect(response.statusCode, url).toBe(400);
        expect(response.json(), url).toMatchObject({ error: { code: 'BAD_REQUEST', message: expect.stringMatching(why) } });
      }
      const invalid = await strict.inject({
        method: 'PUT',
        url: '/v1/alerts/rules',
        headers: bearer('t-ssrf'),
        payload: { rules: [{ id: 'r', rate: 'email.bounceRate', warning: 0.05, critical: 0.01 }] },
      });
      expect(invalid.statusCode).toBe(400);
      expect(invalid.json()).toMatchObject({ error: { message: expect.stringMatching(/rules\[0\]\.warning: must be below critical/) } });
    } finally {
      await strict.close();
    }
  });

  it('shows the default rules and never the secret; a PUT without one generates it once', async () => {
    const before = (await app.inject({ method: 'GET', url: '/v1/alerts/rules', headers: bearer('t-defaults') })).json();
    expect(before).toMatchObject({ defaults: true, webhookSecretHint: null, updatedAt: null });
    expect(before.rules.map((r: { rate: string; window: string; state: string }) => [r.rate, r.window, r.state])).toEqual([
      ['email.spamComplaintRate', '24h', 'ok'],
      ['email.bounceRate', '24h', 'ok'],
    ]);
    const put = await app.inject({
      method: 'PUT',
      url: '/v1/alerts/rules',
      headers: bearer('t-defaults'),
      payload: { rules: [{ id: 'bounce', rate: 'email.bounceRate' }] },
    });
    expect(put.statusCode).toBe(200);
    const secret = put.json().webhookSecret as string;
    expect(secret).toMatch(/^whsec_/);
    const after = await app.inject({ method: 'GET', url: '/v1/alerts/rules', headers: bearer('t-defaults') });
    expect(after.body).not.toContain(secret);
    expect(after.json()).toMatchObject({
      defaults: false,
      webhookSecretHint: `…${secret.slice(-4)}`,
      rules: [{ id: 'bounce', warning: 0.02, critical: 0.05 }],
    });
    expect(after.json()).not.toHaveProperty('webhookSecret');
  });

  it('concurrent first PUTs, on one replica and on two, all show the one secret that is stored and signs', async () => {
    const other = await buildTestApp(config, handle.client);
    try {
      for (const [tenant, replicas] of [
        ['t-race-one', [app]],
        ['t-race-two', [app, other]],
      ] as const) {
        const answers = await Promise.all(
          Array.from({ length: 6 }, (_, i) =>
            replicas[i % replicas.length]!.inject({
              method: 'PUT',
              url: '/v1/alerts/rules',
              headers: bearer(tenant),
              payload: { rules: [{ id: `bounce-${i}`, rate: 'email.bounceRate' }] },
            }),
          ),
        );
        expect(answers.map((answer) => answer.statusCode)).toEqual([200, 200, 200, 200, 200, 200]);
        const shown = new Set(answers.map((answer) => answer.json().webhookSecret as string | undefined).filter(Boolean));
        expect(shown.size, tenant).toBe(1);
        const [secret] = [...shown] as [string];
        const stored = await new AlertStore(handle.client).rules(tenant);
        expect(stored?.webhookSecret).toBe(secret);
        const body = JSON.stringify({ id: 'probe' });
        const now = Math.floor(Date.now() / 1000);
        expect(verifySignature(secret, signatureHeader(stored!.webhookSecret, now, body), body)).toBe(true);
      }
      // Another tenant's first secret is its own.
      const third = await app.inject({
        method: 'PUT',
        url: '/v1/alerts/rules',
        headers: bearer('t-race-three'),
        payload: { rules: [{ id: 'bounce', rate: 'email.bounceRate' }] },
      });
      expect(third.json().webhookSecret).toMatch(/^whsec_/);
      expect((await new AlertStore(handle.client).rules('t-race-one'))?.webhookSecret).not.toBe(third.json().webhookSecret);
    } finally {
      await other.close();
    }
  });

  it('two evaluators share the tenants: one critical on the way up, one recovery on the way down, each delivered once, signed, retried with the same key', async () => {
    // Both instances own partitions (the group really shares the tenants), each tenant exactly one.
    const probes = [TENANT, ...Array.from({ length: 200 }, (_, i) => `probe-${i}`)];
    await waitFor(
      'the evaluators to share the partitions',
      async () =>
        evaluators.every((e) => e.health().ok && probes.some((tenant) => e.owns(tenant))) &&
        probes.every((tenant) => evaluators.filter((e) => e.owns(tenant)).length === 1),
      60_000,
    );

    // A tenant of the same evaluator whose receiver never answers: cut off by the timeout, it
    // holds back neither the evaluation nor the other tenant's notifications.
    const slow = Array.from({ length: 500 }, (_, i) => `slow-${i}`).find(
      (tenant) => partitionOfTenant(tenant, config.topicPartitions) === partitionOfTenant(TENANT, config.topicPartitions),
    )!;
    const slowPut = await app.inject({
      method: 'PUT',
      url: '/v1/alerts/rules',
      headers: bearer(slow),
      payload: { webhookSecret: SECRET, rules: [{ id: 'bounce', rate: 'email.bounceRate', window: '1h', webhookUrl: hangingUrl }] },
    });
    expect(slowPut.statusCode).toBe(200);
    await insert([...emails(1000, 'sent', 11, slow), ...emails(100, 'bounced', 12, slow)]);

    const put = await app.inject({
      method: 'PUT',
      url: '/v1/alerts/rules',
      headers: bearer(TENANT),
      payload: {
        webhookSecret: SECRET,
        rules: [{ id: 'bounce-1h', rate: 'email.bounceRate', window: '1h', minimumVolume: 100, webhookUrl: receiverUrl }],
      },
    });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.body).not.toContain(SECRET);

    // Baseline: 1,000 sent, nothing bounced: ok, nothing sent.
    await insert(emails(1000, 'sent', 1));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(received).toHaveLength(0);

    // Up: 60 bounces of 1,060 sent+... (60 / 1,000 sent = 6 %): critical. The receiver fails twice first.
    failNext = 2;
    await insert(emails(60, 'bounced', 2));
    await waitFor('the critical notification delivered', async () => delivered().length === 1, 60_000);
    const up = received.filter((r) => r.body.state.after === 'critical');
    expect(up.length).toBe(3);
    expect(new Set(up.map((r) => r.key)).size).toBe(1);
    expect(up.every((r) => r.signatureOk)).toBe(true);
    expect(up[0]!.body).toMatchObject({
      state: { before: 'ok', after: 'critical' },
      rate: { numerator: 60, denominator: 1000 },
      tenant: TENANT,
      threshold: { warning: 0.02, critical: 0.05 },
    });
    expect(up[0]!.body.dashboard).toMatch(/^https:\/\/metrics\.example\.com\/\?from=/);

    // On the line and around it: no flapping, nothing more sent.
    await insert(emails(200, 'sent', 3)); // 60 / 1,200 = 5 %: still critical
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(delivered()).toHaveLength(1);

    // Down: 60 / 4,000 = 1.5 %, under 90 % of the warning line: ok, one recovery.
    await insert(emails(2800, 'sent', 4));
    await waitFor('the recovery notification delivered', async () => delivered().length === 2, 60_000);
    const down = delivered()[1]!;
    expect(down.body.state).toEqual({ before: 'critical', after: 'ok' });
    expect(down.signatureOk).toBe(true);
    expect(down.key).not.toBe(up[0]!.key);

    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(delivered()).toHaveLength(2);
    expect(received).toHaveLength(4);

    // The history: both changes, the first with its three attempts.
    const now = new Date();
    const history = await app.inject({
      method: 'GET',
      url: `/v1/alerts/events?from=${new Date(now.getTime() - 3_600_000).toISOString()}&to=${new Date(now.getTime() + 60_000).toISOString()}`,
      headers: bearer(TENANT),
    });
    expect(history.statusCode).toBe(200);
    const events = history.json().events as Array<{ id: string; from: string; to: string; notification: Record<string, unknown> }>;
    expect(events.map((e) => [e.from, e.to])).toEqual([
      ['critical', 'ok'],
      ['ok', 'critical'],
    ]);
    expect(events[1]!.notification).toMatchObject({
      status: 'delivered',
      attempts: 3,
      lastError: null,
      host: expect.stringMatching(/^127\.0\.0\.1:/),
    });
    expect(events[0]!.notification).toMatchObject({ status: 'delivered', attempts: 1 });
    expect(history.body).not.toContain('receiver-token');
    const slowHistory = await app.inject({
      method: 'GET',
      url: `/v1/alerts/events?from=${new Date(now.getTime() - 3_600_000).toISOString()}&to=${new Date(now.getTime() + 60_000).toISOString()}`,
      headers: bearer(slow),
    });
    expect(slowHistory.json().events).toEqual([
      expect.objectContaining({
        from: 'ok',
        to: 'critical',
        notification: expect.objectContaining({ status: 'retrying', lastError: 'timed out after 1000 ms' }),
      }),
    ]);
    const rules = (await app.inject({ method: 'GET', url: '/v1/alerts/rules', headers: bearer(TENANT) })).json();
    expect(rules.rules[0]).toMatchObject({ id: 'bounce-1h', state: 'ok' });
  });
});
