import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IDEMPOTENCY_HEADER, SIGNATURE_HEADER, verifySignature } from '../../services/alerts/index.js';
import { topicNames } from '../../services/events/topics.js';
import type { DeliveryEvent, SendingEvent } from '../../services/events/types.js';
import { loadConfig } from '../../services/platform/config.js';
import { createKafka } from '../../services/platform/kafka.js';
import { createLogger } from '../../services/platform/logger.js';
import { createPublisher } from '../../services/producer/publisher.js';
import { createSimulator } from '../../services/producer/simulator.js';
import { startCli, waitForExit } from '../support/cli.js';
import { waitFor } from '../support/wait-for.js';

/**
 * The whole pipeline as deployed (`run`: ingest, API and alert evaluator in one process, events
 * through Kafka): a bounce-rate episode whose critical notification is failing when the process
 * is killed with SIGKILL. After the restart the same notification is retried with the same key
 * until delivered, no state change is recorded or sent twice, and the recovery follows once.
 */

// The dev token's tenant (DEV_TENANT, default acme).
const TENANT = 'acme';
const SECRET = 'whsec_e2e_0123456789abcdefghijklmnop';

interface Received {
  key: string;
  signatureOk: boolean;
  after: string;
  answered: number;
}

describe('alerts across a SIGKILL of the evaluator', () => {
  const received: Received[] = [];
  let failing = true;
  const receiver = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      const answered = failing ? 503 : 200;
      const parsed = JSON.parse(body) as { state: { after: string } };
      received.push({
        key: String(request.headers[IDEMPOTENCY_HEADER]),
        signatureOk: verifySignature(SECRET, request.headers[SIGNATURE_HEADER] as string | undefined, body),
        after: parsed.state.after,
        answered,
      });
      response.writeHead(answered).end();
    });
  });

  afterAll(() => {
    receiver.close();
  });

  it('resumes the episode from the stored state: the failing notification is retried with its key, nothing is sent twice', async () => {
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const stamp = Date.now();
    const env = {
      DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'sm-alerts-kill-')),
      PORT: '0',
      TOPIC_PREFIX: `alerts-kill-${stamp}.`,
      INGEST_GROUP_ID: `alerts-kill-${stamp}`,
      ALERTS_GROUP_ID: `alerts-kill-evaluators-${stamp}`,
      INGEST_INSTANCE_ID: 'alerts-kill',
      INGEST_SESSION_TIMEOUT_MS: '6000',
      INGEST_BATCH_MAX_MS: '200',
      ALERTS_EVALUATE_EVERY_MS: '300',
      ALERTS_RETRY_BASE_MS: '300',
      ALERTS_ALLOW_PRIVATE_WEBHOOKS: 'true',
      LOG_LEVEL: 'warn',
    };
    const config = loadConfig({ ...process.env, ...env });
    const logger = createLogger('warn');
    const publisher = createPublisher({
      kafka: createKafka(config, logger, 'alerts-kill-test'),
      topics: topicNames(config.topicPrefix),
      partitions: config.topicPartitions,
      logger,
    });
    await publisher.connect();
    let seed = 0;
    const emails = (count: number, status: DeliveryEvent['status']): SendingEvent[] => {
      seed += 1;
      const now = Date.now();
      const simulator = createSimulator({ seed, tenants: 1, startMs: now - 5 * 60_000, spreadMs: 4 * 60_000 });
      const out: SendingEvent[] = [];
      while (out.length < count) {
        const event = simulator.next();
        if (event.type === 'delivery' && event.channel === 'email')
          out.push({ ...event, tenantId: TENANT, status, eventId: `${stamp}-${seed}-${out.length}` });
      }
      return out;
    };

    let run = await startCli(['run'], env);
    // The dev token of the first start (the secret it is signed with stays under DATA_DIR).
    const token = run.token;
    try {
      const api = (url: string, init: RequestInit = {}) =>
        fetch(`${run.url}${url}`, {
          ...init,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(init.headers ?? {}) },
        });
      const sent = async (expected: number) => {
        const now = Date.now();
        const from = new Date(now - 3_600_000).toISOString();
        const to = new Date(now).toISOString();
        const body = (await (await api(`/v1/metrics/outreach?from=${from}&to=${to}`)).json()) as { email: { sent: number } };
        return body.email.sent === expected;
      };
      const put = await api('/v1/alerts/rules', {
        method: 'PUT',
        body: JSON.stringify({
          webhookSecret: SECRET,
          rules: [{ id: 'bounce-1h', rate: 'email.bounceRate', window: '1h', minimumVolume: 100, webhookUrl: hook }],
        }),
      });
      expect(put.status, await put.clone().text()).toBe(200);

      await publisher.publish(emails(1000, 'sent'));
      await waitFor('1,000 sent emails counted', () => sent(1000), 60_000).catch((error: Error) => {
        throw new Error(`${error.message}\n${run.output().slice(-3000)}`);
      });
      // 60 bounced of 1,000 sent: critical (through warning first if the evaluator reads the
      // bounces while only some are counted: every change is one notification of its own). The
      // receiver fails: the first change's notification is retried.
      await publisher.publish(emails(60, 'bounced'));
      await waitFor('two failed attempts of the first notification', async () => received.length >= 2, 60_000);
      const first = received[0]!.key;
      const beforeKill = received.length;

      run.child.kill('SIGKILL');
      await waitForExit(run.child);
      failing = false;
      run = await startCli(['run'], env);

      const now = () => Date.now();
      const history = async () =>
        (
          (await (
            await api(`/v1/alerts/events?from=${new Date(now() - 3_600_000).toISOString()}&to=${new Date(now() + 60_000).toISOString()}`)
          ).json()) as { events: Array<{ id: string; from: string; to: string; notification: { status: string; attempts: number } }> }
        ).events.reverse();
      const settled = async (last: string) => {
        const events = await history();
        return events.length > 0 && events.at(-1)!.to === last && events.every((e) => e.notification.status === 'delivered');
      };
      await waitFor('critical reached and every notification delivered after the restart', () => settled('critical'), 90_000);
      // The notification that was failing at the kill went out again with its own key, once delivered.
      expect(received.slice(beforeKill).some((r) => r.key === first && r.answered === 200)).toBe(true);

      // Down: 60 of 4,000 sent = 1.5 %: one recovery.
      await publisher.publish(emails(3000, 'sent'));
      await waitFor('the recovery delivered', () => settled('ok'), 90_000);
      await new Promise((resolve) => setTimeout(resolve, 2000));

      const events = await history();
      // A chain of changes without repeats: ok → … → critical → … → ok, each from the state before
      // (warning on the way when the evaluator reads a batch that is only partly counted).
      expect(events[0]!.from).toBe('ok');
      expect(events.map((e) => e.to)).toContain('critical');
      expect(events.at(-1)!.to).toBe('ok');
      events.forEach((event, index) => {
        if (index > 0) expect(event.from).toBe(events[index - 1]!.to);
        expect(event.from).not.toBe(event.to);
      });
      // One key per change, each delivered exactly once, every attempt signed and counted.
      expect(new Set(received.map((r) => r.key))).toEqual(new Set(events.map((e) => e.id)));
      for (const event of events) {
        const attempts = received.filter((r) => r.key === event.id);
        expect(
          attempts.filter((r) => r.answered === 200),
          event.id,
        ).toHaveLength(1);
        if (event.id === first) {
          // The attempt in flight when the process was killed may have reached the receiver
          // without being recorded (it is recorded once answered): at most one such attempt.
          expect(attempts.length - event.notification.attempts, event.id).toBeGreaterThanOrEqual(0);
          expect(attempts.length - event.notification.attempts, event.id).toBeLessThanOrEqual(1);
        } else {
          expect(event.notification.attempts, event.id).toBe(attempts.length);
        }
      }
      expect(events[0]!.id).toBe(first);
      expect(received.every((r) => r.signatureOk)).toBe(true);
    } finally {
      run.child.kill('SIGTERM');
      await waitForExit(run.child);
      await publisher.disconnect();
    }
  });
});
