import diagnostics from 'node:diagnostics_channel';
import http from 'node:http';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENTS_SLICE_CHANNEL, LISTED_REJECTIONS } from '../../services/api/routes/events/index.js';
import { topicNames } from '../../services/events/topics.js';
import type { AssignmentEvent } from '../../services/events/types.js';
import { createLogger } from '../../services/platform/logger.js';
import { createConnectingPublisher, type ConnectingPublisher } from '../../services/producer/connecting-publisher.js';
import { bearer, buildTestApp } from '../support/api.js';
import { openIngestBed, type IngestBed } from '../support/ingest.js';
import { recordsIn } from '../support/kafka.js';

/**
 * POST /v1/events against an attacker and a careless client: the answer's size is bounded
 * whatever the body holds, the event loop keeps answering while a large body is read (the work
 * is done in slices), the item count is capped, a request without a valid token is refused before
 * its body is read, and a body in another charset or with a Content-Encoding is 415.
 */

const logger = createLogger(process.env.LOG_LEVEL ?? 'error');
const MAX_ITEMS = 10_000;
const MAX_ANSWER = 64 * 1024;

let bed: IngestBed;
let publisher: ConnectingPublisher;
let app: FastifyInstance;
let eventTopics: string[];
let maxBodyBytes: number;

function assignment(tenantId: string, i: number): AssignmentEvent {
  return {
    type: 'assignment',
    eventId: `${tenantId}-a-${i}`,
    tenantId,
    occurredAt: new Date(Date.UTC(2026, 10, 5, 10) + i * 1000).toISOString(),
    customerId: `c-${i % 97}`,
    playbookId: 'pb-1',
    playbookName: 'Onboarding',
    campaignId: 'cm-1',
    campaignName: 'Welcome',
    action: 'entered',
  };
}

const published = () => recordsIn(bed.kafka, eventTopics);

function post(tenant: string, payload: string | Buffer, contentType = 'application/x-ndjson', extra: Record<string, string> = {}) {
  return app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: { ...bearer(tenant), 'content-type': contentType, ...extra },
    payload,
  });
}

beforeAll(async () => {
  bed = await openIngestBed('http-ingest-limits');
  const topics = topicNames(bed.config.topicPrefix);
  eventTopics = [topics.assignments, topics.deliveries];
  maxBodyBytes = bed.config.events.maxBodyBytes;
  expect(bed.config.events.maxItems).toBe(MAX_ITEMS); // the default
  publisher = createConnectingPublisher({ kafka: bed.kafka, topics, partitions: bed.config.topicPartitions, logger });
  app = await buildTestApp(bed.config, bed.clickhouse.client, { rateLimitPerMinute: 10_000 }, logger, { publisher });
});

afterAll(async () => {
  await app?.close();
  await publisher?.close();
  await bed?.close();
});

describe('POST /v1/events: bounded answers', () => {
  it('8 MiB of junk NDJSON (10 000 lines): an answer under 64 KiB; /healthz answered between two slices of the work', async () => {
    const line = 'junk'.repeat(209) + '\n'; // 837 characters: 10 000 lines just under 8 MiB
    const body = line.repeat(MAX_ITEMS);
    expect(body.length).toBeLessThanOrEqual(maxBodyBytes);
    expect(body.length).toBeGreaterThan(8_000_000);

    const order: string[] = [];
    let health: Promise<unknown> | undefined;
    const onSlice = (message: unknown) => {
      const { slice } = message as { slice: number };
      order.push(`slice ${slice}`);
      // Asked once the work has started: it must be answered before the work ends.
      health ??= app.inject({ method: 'GET', url: '/healthz' }).then((response) => {
        expect(response.statusCode).toBe(200);
        order.push('healthz');
      });
    };
    diagnostics.subscribe(EVENTS_SLICE_CHANNEL, onSlice);
    let response;
    try {
      response = await post('junk-t', body);
      order.push('answer');
    } finally {
      diagnostics.unsubscribe(EVENTS_SLICE_CHANNEL, onSlice);
    }
    await health;

    expect(response.statusCode).toBe(202);
    expect(response.rawPayload.length).toBeLessThan(MAX_ANSWER);
    const answer = response.json() as { accepted: number; rejected: { index: number; reason: string }[]; rejectedCount: number };
    expect(answer.accepted).toBe(0);
    expect(answer.rejectedCount).toBe(MAX_ITEMS);
    expect(answer.rejected).toHaveLength(LISTED_REJECTIONS);
    expect(answer.rejected.map((r) => r.index)).toEqual(Array.from({ length: LISTED_REJECTIONS }, (_, i) => i));
    for (const { reason } of answer.rejected) expect(reason.length).toBeLessThan(120);

    const healthAt = order.indexOf('healthz');
    expect(healthAt).toBeGreaterThan(0);
    // The probe completed between two slices: at least one slice ran after it, and the answer came last.
    expect(order.slice(healthAt + 1).some((step) => step.startsWith('slice'))).toBe(true);
    expect(order.at(-1)).toBe('answer');
  });

  it('more events than EVENTS_MAX_ITEMS: 413 TOO_MANY_EVENTS, nothing published, a small answer', async () => {
    const before = await published();
    const events = Array.from({ length: MAX_ITEMS + 1 }, (_, i) => JSON.stringify(assignment('many-t', i)));
    const ndjson = await post('many-t', events.join('\n'));
    expect(ndjson.statusCode).toBe(413);
    expect(ndjson.json()).toEqual({
      error: {
        code: 'TOO_MANY_EVENTS',
        message: `the body holds more than ${MAX_ITEMS} events (EVENTS_MAX_ITEMS); send at most ${MAX_ITEMS} per request. Nothing was published`,
      },
    });
    const array = await post('many-t', `[${events.join(',')}]`, 'application/json');
    expect(array.statusCode).toBe(413);
    expect(array.json().error.code).toBe('TOO_MANY_EVENTS');
    // 8 MiB of one-character lines (4 million items): refused as soon as the count passes the cap.
    const tiny = await post('many-t', 'x\n'.repeat(Math.floor(maxBodyBytes / 2)));
    expect(tiny.statusCode).toBe(413);
    expect(tiny.rawPayload.length).toBeLessThan(1024);
    const ones = await post('many-t', `[${'1,'.repeat(Math.floor(maxBodyBytes / 2) - 1)}1]`, 'application/json');
    expect(ones.statusCode).toBe(413);
    expect(await published()).toBe(before);

    // Exactly at the cap: accepted.
    const atCap = await post('many-t', events.slice(0, MAX_ITEMS).join('\n'));
    expect(atCap.statusCode).toBe(202);
    expect(atCap.json()).toEqual({ accepted: MAX_ITEMS, rejected: [], rejectedCount: 0 });
  });

  it('one huge line, deep nesting and long values: rejected with short reasons, never parsed whole or echoed', async () => {
    const before = await published();
    const huge = 'x'.repeat(maxBodyBytes - 10);
    const oneLine = await post('huge-t', `"${huge}"\n`);
    expect(oneLine.statusCode).toBe(202);
    expect(oneLine.json()).toEqual({
      accepted: 0,
      rejectedCount: 1,
      rejected: [{ index: 0, reason: `line is ${huge.length + 2} bytes long; an event is at most 65536` }],
    });

    const depth = Math.floor(maxBodyBytes / 2) - 1;
    const nested = await post('huge-t', `[${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}]`, 'application/json');
    expect(nested.statusCode).toBe(202);
    expect(nested.json()).toEqual({
      accepted: 0,
      rejectedCount: 1,
      rejected: [{ index: 0, reason: `event is ${2 * (depth - 1)} bytes long; an event is at most 65536` }],
    });
    const nestedLine = await post('huge-t', `${'['.repeat(depth)}${']'.repeat(depth)}`);
    expect(nestedLine.json().rejected[0].reason).toBe(`line is ${2 * depth} bytes long; an event is at most 65536`);
    // Nesting that fits in an item is parsed, and is no event.
    const small = await post('huge-t', `${'['.repeat(30_000)}${']'.repeat(30_000)}\n`);
    expect(small.json().rejected).toEqual([{ index: 0, reason: 'event: must be a JSON object, got an array' }]);

    const long = 'y'.repeat(100_000);
    const event = { ...assignment('huge-t', 1), action: long.slice(0, 60_000) };
    const echoed = await post('huge-t', `${JSON.stringify(event)}\n`);
    const reason = (echoed.json() as { rejected: { reason: string }[] }).rejected[0]!.reason;
    expect(reason).toBe(`action: "${'y'.repeat(40)}…" is not one of entered, exited`);

    // A JSON body that is not JSON is still refused as a whole.
    const broken = await post('huge-t', `[${JSON.stringify(assignment('huge-t', 2))}, tru]`, 'application/json');
    expect(broken.statusCode).toBe(400);
    expect(broken.json().error.message).toMatch(/^body: is not valid JSON \(element 1: /);
    const open = await post('huge-t', `[${JSON.stringify(assignment('huge-t', 2))}`, 'application/json');
    expect(open.json().error.message).toBe('body: is not valid JSON (the array is not closed)');
    const trailing = await post('huge-t', '[] x', 'application/json');
    expect(trailing.json().error.message).toBe('body: is not valid JSON (text follows the array)');
    const empty = await post('huge-t', ' [ ] ', 'application/json');
    expect(empty.json().error.message).toBe('body: holds no events');
    expect(await published()).toBe(before);
  });
});

describe('POST /v1/events over a real connection', () => {
  let base: string;

  beforeAll(async () => {
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });

  const send = (body: string) =>
    fetch(`${base}/v1/events`, { method: 'POST', headers: { ...bearer('wire-t'), 'content-type': 'application/x-ndjson' }, body });

  it('answers once every slice is done (the request having been read is no reason to stop)', async () => {
    const before = await published();
    const events = Array.from({ length: 3000 }, (_, i) => JSON.stringify(assignment('wire-t', i)));
    const response = await send(events.join('\n'));
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ accepted: 3000, rejected: [], rejectedCount: 0 });
    expect(await published()).toBe(before + 3000);
  });

  it('a client that goes away while its body is being worked on: the work stops at the next slice, nothing is published', async () => {
    const before = await published();
    const body = Array.from({ length: MAX_ITEMS }, (_, i) =>
      JSON.stringify({ ...assignment('wire-t', i), campaignName: 'n'.repeat(400) }),
    ).join('\n');
    let slices = 0;
    let slicesAtStop = -1;
    let stopped: (error: Error) => void = () => undefined;
    const stop = new Promise<Error>((resolve) => (stopped = resolve));
    // One connection of its own (no pool), closed by the client once the work has started.
    const request = http.request(`${base}/v1/events`, {
      method: 'POST',
      agent: false,
      headers: { ...bearer('wire-t'), 'content-type': 'application/x-ndjson', 'content-length': Buffer.byteLength(body) },
    });
    const closed = new Promise<void>((resolve) => request.on('close', resolve));
    request.on('error', () => undefined); // the client's own abort
    const onSlice = () => {
      slices += 1;
      if (slices === 1) request.destroy();
    };
    const onError = (message: unknown) => {
      const error = (message as { error?: Error }).error;
      if (error?.message.startsWith('the client closed the connection')) {
        slicesAtStop = slices;
        stopped(error);
      }
    };
    diagnostics.subscribe(EVENTS_SLICE_CHANNEL, onSlice);
    diagnostics.subscribe('tracing:fastify.request.handler:error', onError);
    try {
      request.end(body);
      await closed;
      expect((await stop).message).toBe('the client closed the connection before the answer; nothing was published');
    } finally {
      diagnostics.unsubscribe(EVENTS_SLICE_CHANNEL, onSlice);
      diagnostics.unsubscribe('tracing:fastify.request.handler:error', onError);
    }
    // The body is about 6 MiB, at least 90 slices of 64 KiB: the work stopped right after the abort.
    expect(body.length).toBeGreaterThan(90 * 64 * 1024);
    expect(slicesAtStop).toBeGreaterThanOrEqual(1);
    expect(slicesAtStop).toBeLessThan(5);
    expect(await published()).toBe(before);
  });
});

describe('POST /v1/events: the token is checked before the body is read', () => {
  it('a large body with a bad token: 401, and the body is never read', async () => {
    const size = 8 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 0x78);
    let pulled = 0;
    const body = new Readable({
      read() {
        if (pulled >= size) return this.push(null);
        pulled += chunk.length;
        this.push(chunk);
      },
    });
    const response = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { authorization: 'Bearer not-a-token', 'content-type': 'application/x-ndjson', 'content-length': String(size) },
      payload: body,
    });
    expect(response.statusCode).toBe(401);
    expect(response.json().error.code).toBe('UNAUTHORIZED');
    // At most what the stream buffers ahead on its own; a body that was read would be all 8 MiB.
    expect(pulled).toBeLessThanOrEqual(256 * 1024);
  });
});

describe('bodies are UTF-8, unencoded', () => {
  const event = JSON.stringify(assignment('charset-t', 1));

  it('a charset other than UTF-8: 415 UNSUPPORTED_CHARSET; utf-8 in any spelling is read', async () => {
    const before = await published();
    for (const type of [
      'application/json; charset=utf-16',
      'application/x-ndjson; charset=latin1',
      'application/json;charset="ISO-8859-1"',
    ]) {
      const response = await post('charset-t', event, type);
      expect(response.statusCode, type).toBe(415);
      expect(response.json().error.code).toBe('UNSUPPORTED_CHARSET');
      expect(response.json().error.message).toMatch(/is not accepted; send UTF-8/);
    }
    const utf16 = await post('charset-t', Buffer.from(event, 'utf16le'), 'application/json; charset=UTF-16LE');
    expect(utf16.json().error.message).toBe(
      'a body in charset "utf-16le" is not accepted; send UTF-8 (charset=utf-8, or no charset parameter)',
    );
    expect(await published()).toBe(before);
    for (const type of ['application/json; charset=utf-8', 'application/json; Charset="UTF-8"', 'application/json;charset=utf8']) {
      const response = await post('charset-t', event, type);
      expect(response.statusCode, type).toBe(202);
    }
  });

  it('a Content-Encoding (gzip, br): 415 UNSUPPORTED_CONTENT_ENCODING, on every route that takes a body', async () => {
    const before = await published();
    const gzip = await post('charset-t', gzipSync(event), 'application/json', { 'content-encoding': 'gzip' });
    expect(gzip.statusCode).toBe(415);
    expect(gzip.json()).toEqual({
      error: {
        code: 'UNSUPPORTED_CONTENT_ENCODING',
        message: 'a body with Content-Encoding "gzip" is not accepted; send it unencoded (no Content-Encoding, or identity)',
      },
    });
    const br = await post('charset-t', event, 'application/json', { 'content-encoding': 'br' });
    expect(br.json().error.code).toBe('UNSUPPORTED_CONTENT_ENCODING');
    const identity = await post('charset-t', event, 'application/json', { 'content-encoding': 'identity' });
    expect(identity.statusCode).toBe(202);
    expect(await published()).toBe(before + 1);

    // The same hook guards the other routes with a body.
    const others = [
      { method: 'POST' as const, url: '/v1/downloads', headers: bearer('charset-t') },
      { method: 'PUT' as const, url: '/v1/alerts/rules', headers: bearer('charset-t') },
      { method: 'POST' as const, url: '/v1/webhooks/sendgrid/charset-t', headers: {} },
    ];
    for (const route of others) {
      const encoded = await app.inject({
        ...route,
        headers: { ...route.headers, 'content-type': 'application/json', 'content-encoding': 'gzip' },
        payload: gzipSync('{}'),
      });
      expect(encoded.statusCode, route.url).toBe(415);
      expect(encoded.json().error.code).toBe('UNSUPPORTED_CONTENT_ENCODING');
      const latin1 = await app.inject({
        ...route,
        headers: { ...route.headers, 'content-type': 'application/json; charset=latin1' },
        payload: '{}',
      });
      expect(latin1.statusCode, route.url).toBe(415);
      expect(latin1.json().error.code).toBe('UNSUPPORTED_CHARSET');
    }
    // A request without a body is not looked at.
    const get = await app.inject({ method: 'GET', url: '/healthz', headers: { 'content-encoding': 'gzip' } });
    expect(get.statusCode).toBe(200);
  });
});
