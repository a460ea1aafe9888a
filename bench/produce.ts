/**
 * Producer throughput: N events published through the library (validate, encode, key,
 * batch, idempotent send with acks=all), then the same N events pre-encoded into the same
 * produce requests and sent by a bare kafkajs producer with the same settings — the bound the
 * library can reach on this machine and broker — and then the same N events through HTTP
 * ingest: POST /v1/events of an API app in this process listening on a loopback port, NDJSON
 * bodies of --http-batch events (prepared before the clock starts), sent by --http-clients
 * keep-alive fetch clients (also in this process), each answered after the broker acknowledged.
 * Every path first sends a small untimed warm-up (JIT, connections, metadata). Own topics,
 * deleted at the end.
 *
 * The library and the bound run in alternating pairs (--pairs, default 3); the ratio is the
 * median pair's.
 *
 *   npx tsx bench/produce.ts [--events 1000000] [--batch-size 20000] [--http-batch 1000] [--http-clients 4] [--pairs 3]
 */
import crypto from 'node:crypto';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { createClient } from '@clickhouse/client';
import type { Admin, TopicMessages } from 'kafkajs';
import { Registry } from 'prom-client';
import { buildApp } from '../services/api/app.js';
import { signToken } from '../services/api/auth/tokens.js';
import { Readiness } from '../services/platform/health.js';
import { createConnectingPublisher } from '../services/producer/connecting-publisher.js';
import { topicNames, type TopicNames } from '../services/events/topics.js';
import type { SendingEvent } from '../services/events/types.js';
import { loadConfig } from '../services/platform/config.js';
import { createKafka, ensureTopics } from '../services/platform/kafka.js';
import { createLogger } from '../services/platform/logger.js';
import { createPublisher, PRODUCER_OPTIONS, produceRequests, PUBLISH_BATCH_SIZE, SEND_OPTIONS } from '../services/producer/publisher.js';
import { createSimulator } from '../services/producer/simulator.js';

const WARM_UP_EVENTS = 50_000;

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    'batch-size': { type: 'string', default: String(PUBLISH_BATCH_SIZE) },
    'http-batch': { type: 'string', default: '1000' },
    'http-clients': { type: 'string', default: '4' },
    pairs: { type: 'string', default: '3' },
  },
});
const count = Number(values.events);
const batchSize = Number(values['batch-size']);
const httpBatch = Number(values['http-batch']);
const httpClients = Number(values['http-clients']);
const pairs = Number(values.pairs);
if ([count, batchSize, httpBatch, httpClients, pairs].some((n) => !Number.isInteger(n) || n < 1)) {
  console.error(
    'usage: npx tsx bench/produce.ts [--events N] [--batch-size N] [--http-batch N] [--http-clients N] [--pairs N]  (whole numbers ≥ 1)',
  );
  process.exit(2);
}

const config = loadConfig();
const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, pino.destination(2));
const kafka = createKafka(config, logger, 'bench-produce');
const prefix = `bench-produce-${Date.now()}.`;
const libraryTopics = topicNames(`${prefix}library.`);
const boundTopics = topicNames(`${prefix}bound.`);
const httpTopics = topicNames(`${prefix}http.`);

function seconds(fromMs: number): number {
  return (performance.now() - fromMs) / 1000;
}

function report(label: string, elapsed: number): number {
  const rate = count / elapsed;
  console.log(`${label.padEnd(40)} ${count} events in ${elapsed.toFixed(2)} s = ${Math.round(rate)} events/s`);
  return rate;
}

async function recordsIn(admin: Admin, topics: TopicNames): Promise<number> {
  let total = 0;
  for (const topic of [topics.assignments, topics.deliveries]) {
    for (const partition of await admin.fetchTopicOffsets(topic)) total += Number(partition.high) - Number(partition.low);
  }
  return total;
}

/**
 * The library and the bound in alternating pairs (the broker and the machine drift by ±15 % from
 * one run to the next, and whichever path runs first after the broker starts differs again), each
 * with its own warm-up first. Events/s of each pair.
 */
async function libraryAndBound(
  admin: Admin,
  warmUp: SendingEvent[],
  events: SendingEvent[],
): Promise<{ library: number; bound: number }[]> {
  const publisher = createPublisher({ kafka, topics: libraryTopics, partitions: config.topicPartitions, logger, batchSize });
  await ensureTopics(admin, config.topicPartitions, [boundTopics.assignments, boundTopics.deliveries]);
  const warmUpRequests = [...produceRequests(warmUp, boundTopics, batchSize)];
  const requests: TopicMessages[][] = [...produceRequests(events, boundTopics, batchSize)];
  const producer = kafka.producer(PRODUCER_OPTIONS);
  await publisher.connect();
  await producer.connect();
  try {
    await publisher.publish(warmUp);
    for (const topicMessages of warmUpRequests) await producer.sendBatch({ ...SEND_OPTIONS, topicMessages });
    const rates: { library: number; bound: number }[] = [];
    for (let pair = 1; pair <= pairs; pair += 1) {
      let start = performance.now();
      await publisher.publish(events);
      const library = report(`pair ${pair}, library (validate + encode + send):`, seconds(start));
      start = performance.now();
      for (const topicMessages of requests) await producer.sendBatch({ ...SEND_OPTIONS, topicMessages });
      const bound = report(`pair ${pair}, bound (bare kafkajs, pre-encoded):`, seconds(start));
      rates.push({ library, bound });
    }
    return rates;
  } finally {
    await producer.disconnect();
    await publisher.disconnect();
  }
}

/** NDJSON bodies of at most httpBatch events, each of one tenant (the token's), with that tenant's token. */
function httpBodies(events: SendingEvent[], secret: string): { authorization: string; body: string }[] {
  const byTenant = new Map<string, SendingEvent[]>();
  for (const event of events) {
    const list = byTenant.get(event.tenantId) ?? [];
    list.push(event);
    byTenant.set(event.tenantId, list);
  }
  const bodies: { authorization: string; body: string }[] = [];
  for (const [tenantId, list] of byTenant) {
    const authorization = `Bearer ${signToken(secret, { tenantId, userId: 'bench' }, 3_600_000)}`;
    for (let start = 0; start < list.length; start += httpBatch) {
      bodies.push({
        authorization,
        body: list
          .slice(start, start + httpBatch)
          .map((event) => JSON.stringify(event))
          .join('\n'),
      });
    }
  }
  return bodies;
}

async function postAll(base: string, bodies: { authorization: string; body: string }[]): Promise<number> {
  let next = 0;
  let accepted = 0;
  const client = async () => {
    while (next < bodies.length) {
      const { authorization, body } = bodies[next++]!;
      const response = await fetch(`${base}/v1/events`, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/x-ndjson' },
        body,
      });
      const answer = (await response.json()) as { accepted?: number; error?: { message: string } };
      if (response.status !== 202) throw new Error(`POST /v1/events answered ${response.status}: ${answer.error?.message ?? ''}`);
      accepted += answer.accepted!;
    }
  };
  await Promise.all(Array.from({ length: httpClients }, client));
  return accepted;
}

async function throughHttp(warmUp: SendingEvent[], events: SendingEvent[]): Promise<number> {
  const secret = `bench-${crypto.randomUUID()}-${crypto.randomUUID()}`;
  const publisher = createConnectingPublisher({ kafka, topics: httpTopics, partitions: config.topicPartitions, logger, batchSize });
  // Never queried here: the API needs a client for its other routes only.
  const clickhouse = createClient({ url: 'http://127.0.0.1:1' });
  // The per-user rate limit (API_RATE_LIMIT_PER_MINUTE) would otherwise cap the requests of this run.
  const app = await buildApp({
    config: { ...config, api: { ...config.api, rateLimitPerMinute: 1_000_000_000, rateLimitPerTenantPerMinute: 1_000_000_000 } },
    logger,
    clickhouse,
    readiness: new Readiness(),
    registry: new Registry(),
    jwtSecret: secret,
    publisher,
  });
  try {
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const warmUpBodies = httpBodies(warmUp, secret);
    const bodies = httpBodies(events, secret);
    await postAll(base, warmUpBodies);
    const start = performance.now();
    const accepted = await postAll(base, bodies);
    if (accepted !== events.length) throw new Error(`HTTP ingest accepted ${accepted} of ${events.length} events`);
    return report(`HTTP ingest (POST /v1/events, ${httpBatch}/request):`, seconds(start));
  } finally {
    await app.close();
    await publisher.close();
    await clickhouse.close();
  }
}

const admin = kafka.admin();
await admin.connect();
try {
  const start = performance.now();
  const simulator = createSimulator({
    seed: 1,
    tenants: 10,
    campaigns: 12,
    startMs: Date.parse('2026-11-01T00:00:00.000Z'),
    spreadMs: 30 * 86_400_000,
  });
  const warmUp = simulator.take(Math.min(WARM_UP_EVENTS, count));
  const events = simulator.take(count);
  console.log(`${count} simulated events (+${warmUp.length} warm-up) generated in ${seconds(start).toFixed(2)} s`);
  console.log(
    `requests of at most ${batchSize} events, acks=all, idempotent producer, no compression, ${config.topicPartitions} partitions per topic`,
  );
  const rates = await libraryAndBound(admin, warmUp, events);
  const middle = [...rates].sort((a, b) => a.library / a.bound - b.library / b.bound)[Math.floor(rates.length / 2)]!;
  const libraryRate = middle.library;
  const boundRate = middle.bound;
  console.log(
    `library / bound: ${(libraryRate / boundRate).toFixed(3)} (the median of ${rates.length} pairs: ${rates.map((r) => (r.library / r.bound).toFixed(3)).join(', ')})`,
  );
  console.log(`HTTP ingest: ${httpClients} keep-alive clients in this process, NDJSON bodies prepared before the clock starts`);
  const httpRate = await throughHttp(warmUp, events);
  const expected = [warmUp.length + pairs * count, warmUp.length + pairs * count, warmUp.length + count];
  const found = [await recordsIn(admin, libraryTopics), await recordsIn(admin, boundTopics), await recordsIn(admin, httpTopics)];
  if (found.some((n, i) => n !== expected[i]))
    throw new Error(
      `expected ${expected.join(', ')} records in the library's, the bound's and HTTP ingest's topics, found ${found.join(', ')}`,
    );
  console.log(`verified: ${found.join(', ')} records in the library's topics, the bound's and HTTP ingest's`);
  console.log(
    `RESULT produce_events_per_s=${Math.round(libraryRate)} ratio_to_bound=${(libraryRate / boundRate).toFixed(3)} http_events_per_s=${Math.round(httpRate)}`,
  );
} finally {
  await admin.disconnect();
  // A fresh admin: kafkajs keeps refreshing metadata of topics a client has used, which fails once they are gone.
  const cleaner = kafka.admin();
  await cleaner.connect();
  await cleaner.deleteTopics({
    topics: [
      libraryTopics.assignments,
      libraryTopics.deliveries,
      boundTopics.assignments,
      boundTopics.deliveries,
      httpTopics.assignments,
      httpTopics.deliveries,
    ],
  });
  await cleaner.disconnect();
}
