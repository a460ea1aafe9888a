import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { Logger } from '../platform/logger.js';
import { IDEMPOTENCY_HEADER, SIGNATURE_HEADER, signatureHeader } from './signature.js';
import type { AlertEvent, AlertStore } from './store.js';
import { blockedAddressReason, safeLookup } from './webhook-safety.js';

/**
 * Sends the notification of a state change: one POST of the stored JSON body, signed with the
 * tenant's webhook secret, carrying the change's id as Idempotency-Key (the same on every
 * retry). A receiver that does not answer 2xx within the timeout is retried with exponential
 * backoff and full jitter — base × 2^(attempt − 1), at most 1 hour, a random share of it between
 * half and all — for ALERTS_RETRY_FOR_MS (24 h) after the change, then the notification is
 * `failed`. Delivery is at-least-once: a process that dies after the receiver answered and
 * before the answer was recorded sends it again, with the same key.
 */

export interface NotifierOptions {
  timeoutMs: number;
  retryBaseMs: number;
  retryForMs: number;
  allowPrivate: boolean;
}

export const MAX_RETRY_DELAY_MS = 3_600_000;

/** The wait before attempt `attempt + 1` after `attempt` failed ones (attempt ≥ 1). */
export function retryDelayMs(attempt: number, baseMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(MAX_RETRY_DELAY_MS, baseMs * 2 ** Math.min(30, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export interface PostResult {
  ok: boolean;
  /** `HTTP 500`, `timed out after 5000 ms`, `refused: … resolves to a loopback address`. */
  detail: string;
}

/** One POST; never throws. The response body is read (at most 64 KiB) and dropped. */
export function postWebhook(
  url: string,
  body: string,
  headers: Record<string, string>,
  options: Pick<NotifierOptions, 'timeoutMs' | 'allowPrivate'>,
): Promise<PostResult> {
  return new Promise((resolve) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      resolve({ ok: false, detail: 'not a URL' });
      return;
    }
    const transport = target.protocol === 'https:' ? https : target.protocol === 'http:' && options.allowPrivate ? http : undefined;
    if (!transport) {
      resolve({ ok: false, detail: `refused: ${target.protocol} webhooks are not allowed` });
      return;
    }
    // An address literal is never looked up, so the lookup below would not see it: check it here.
    const literal = target.hostname.replace(/^\[(.*)\]$/, '$1');
    const literalProblem = !options.allowPrivate && isIP(literal) !== 0 ? blockedAddressReason(literal) : undefined;
    if (literalProblem) {
      resolve({ ok: false, detail: 'refused: the address is not allowed' });
      return;
    }
    let settled = false;
    const done = (result: PostResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const request = transport.request(
      target,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'user-agent': 'sending-metrics-alerts/1',
          ...headers,
        },
        lookup: safeLookup(options.allowPrivate),
      },
      (response) => {
        let read = 0;
        response.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > 65_536) response.destroy();
        });
        response.on('end', () => {
          const status = response.statusCode ?? 0;
          done({ ok: status >= 200 && status < 300, detail: `HTTP ${status}` });
        });
        response.on('error', () => done({ ok: false, detail: `HTTP ${response.statusCode ?? 0}, response cut off` }));
      },
    );
    const timer = setTimeout(() => {
      request.destroy();
      done({ ok: false, detail: `timed out after ${options.timeoutMs} ms` });
    }, options.timeoutMs);
    request.on('error', (error: Error & { code?: string }) =>
      done({ ok: false, detail: error.message || error.code || 'connection failed' }),
    );
    request.end(body);
  });
}

export class Notifier {
  private readonly inFlight = new Set<string>();
  private readonly running = new Set<Promise<unknown>>();

  constructor(
    private readonly store: AlertStore,
    private readonly secretOf: (tenantId: string) => Promise<string | undefined>,
    private readonly options: NotifierOptions,
    private readonly log: Logger,
    private readonly random: () => number = Math.random,
    private readonly onResult: (result: 'delivered' | 'retrying' | 'failed') => void = () => undefined,
  ) {}

  /** Notifications being sent by this process now. */
  get sending(): number {
    return this.inFlight.size;
  }

  /**
   * Starts every due notification `owns` says this instance is responsible for, each on its own:
   * a slow or hanging receiver holds only its own notification (until the timeout), never the
   * others, the next round or the evaluation. Resolves once they are started; {@link idle}
   * waits for them.
   */
  async sendDue(owns: (tenantId: string) => boolean, nowMs = Date.now()): Promise<number> {
    const due = (await this.store.dueNotifications(nowMs)).filter((event) => owns(event.tenantId) && !this.inFlight.has(event.id));
    for (const event of due) {
      const attempt = this.attempt(event).catch((error: Error) =>
        this.log.warn({ err: error, tenantId: event.tenantId, alertEventId: event.id }, 'cannot record a notification attempt; retried'),
      );
      this.running.add(attempt);
      void attempt.finally(() => this.running.delete(attempt));
    }
    return due.length;
  }

  /** Resolves when the attempts started so far are recorded. */
  async idle(): Promise<void> {
    await Promise.all([...this.running]);
  }

  /** One attempt of one notification, recorded. */
  async attempt(event: AlertEvent): Promise<AlertEvent> {
    this.inFlight.add(event.id);
    try {
      const secret = await this.secretOf(event.tenantId);
      const timestamp = Math.floor(Date.now() / 1000);
      const headers: Record<string, string> = { [IDEMPOTENCY_HEADER]: event.id };
      if (secret) headers[SIGNATURE_HEADER] = signatureHeader(secret, timestamp, event.payload);
      const result = secret
        ? await postWebhook(event.webhookUrl, event.payload, headers, this.options)
        : { ok: false, detail: 'the tenant has no webhook secret' };
      const attempts = event.attempts + 1;
      const now = Date.now();
      let update: Pick<AlertEvent, 'status' | 'attempts' | 'lastError' | 'nextAttemptAt'>;
      if (result.ok) update = { status: 'delivered', attempts, lastError: '', nextAttemptAt: now };
      else {
        const next = now + retryDelayMs(attempts, this.options.retryBaseMs, this.random);
        update =
          next - event.occurredAt > this.options.retryForMs
            ? { status: 'failed', attempts, lastError: result.detail, nextAttemptAt: now }
            : { status: 'retrying', attempts, lastError: result.detail, nextAttemptAt: next };
      }
      // The URL is the tenant's; it may hold a token in its query: never logged, only its host.
      const host = (() => {
        try {
          return new URL(event.webhookUrl).host;
        } catch {
          return '';
        }
      })();
      this.log[result.ok ? 'info' : 'warn'](
        {
          tenantId: event.tenantId,
          ruleId: event.ruleId,
          alertEventId: event.id,
          host,
          attempts,
          status: update.status,
          detail: result.detail,
        },
        result.ok ? 'alert notification delivered' : 'alert notification not delivered',
      );
      this.onResult(update.status as 'delivered' | 'retrying' | 'failed');
      return await this.store.updateNotification(event, update, now);
    } finally {
      this.inFlight.delete(event.id);
    }
  }
}
