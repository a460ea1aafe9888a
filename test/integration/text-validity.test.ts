import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeEvent } from '../../services/events/codec.js';
import { topicNames, type TopicNames } from '../../services/events/topics.js';
import type { AssignmentEvent } from '../../services/events/types.js';
import { DEAD_LETTER_HEADERS } from '../../services/ingest/steps/dead-letter.js';
import { createLogger } from '../../services/platform/logger.js';
import { createConnectingPublisher, type ConnectingPublisher } from '../../services/producer/connecting-publisher.js';
import { bearer, buildTestApp } from '../support/api.js';
import { groupProgress } from '../support/group-progress.js';
import { openIngestBed, type IngestBed } from '../support/ingest.js';
import { readDeadLetters } from '../support/dead-letters.js';
import { waitFor } from '../support/wait-for.js';

/**
 * Text that is not Unicode is refused on every path, never rewritten: three events whose eventIds
 * differ only in invalid bytes (\xff-x, \xfe-x, \xc0\xaf-x) used to be accepted with U+FFFD in
 * their place and counted as two; lone surrogates (JSON "\ud800") the same.
 */

const logger = createLogger(process.env.LOG_LEVEL ?? 'error');
const TENANT = 'utf-t';
const INVALID = [[0xff], [0xfe], [0xc0, 0xaf]];

let bed: IngestBed;
let topics: TopicNames;
let publisher: ConnectingPublisher;
let app: FastifyInstance;

function assignment(eventId: string, i = 0): AssignmentEvent {
  return {
    type: 'assignment',
    eventId,
    tenantId: TENANT,
    occurredAt: new Date(Date.UTC(2026, 10, 5, 10) + i * 1000).toISOString(),
    customerId: 'c-1',
    playbookId: 'pb-1',
    playbookName: 'Onboarding',
    campaignId: 'cm-1',
    campaignName: 'Welcome',
    action: 'entered',
  };
}

/** The JSON bytes of the event, with `bytes` in place of the `@@` in its eventId. */
function jsonWith(event: AssignmentEvent, bytes: number[]): Buffer {
  const text = Buffer.from(JSON.stringify(event));
  const at = text.indexOf('@@');
  return Buffer.concat([text.subarray(0, at), Buffer.from(bytes), text.subarray(at + 2)]);
}

async function eventIds(): Promise<string[]> {
  const result = await bed.clickhouse.client.query({
    query: 'SELECT event_id FROM assignment_events ORDER BY event_id',
    format: 'JSONCompactEachRow',
  });
  return ((await result.json()) as [string][]).map(([id]) => id);
}

async function caughtUp(): Promise<void> {
  await waitFor('the ingest to commit every record', async () => {
    const { end, committed } = await groupProgress(bed.admin, bed.config.ingest.groupId, [topics.assignments, topics.deliveries]);
    return end > 0 && committed === end;
  });
}

beforeAll(async () => {
  bed = await openIngestBed('text-validity', { batchMaxRows: 100, batchMaxMs: 100, maxInvalidRatio: 1 });
  topics = topicNames(bed.config.topicPrefix);
  publisher = createConnectingPublisher({ kafka: bed.kafka, topics, partitions: bed.config.topicPartitions, logger });
  app = await buildTestApp(bed.config, bed.clickhouse.client, {}, logger, { publisher });
});

afterAll(async () => {
  await app?.close();
  await publisher?.close();
  await bed?.close();
});

describe('text that is not Unicode', () => {
  it('POST /v1/events: each event with invalid UTF-8 or a lone surrogate is rejected naming the field; none is counted', async () => {
    const lines = INVALID.map((bytes) => jsonWith(assignment('@@-x'), [...bytes]));
    const body = Buffer.concat([
      ...lines.flatMap((line) => [line, Buffer.from('\n')]),
      Buffer.from(`${JSON.stringify(assignment('http-ok', 1))}\n`),
      // JSON escapes of lone surrogates: the text of the line is valid UTF-8.
      Buffer.from(
        '{"type":"assignment","eventId":"\\ud800-x","tenantId":"utf-t","occurredAt":"2026-11-05T10:00:00Z","customerId":"c-1","playbookId":"pb-1","playbookName":"P","campaignId":"cm-1","campaignName":"C","action":"entered"}\n',
      ),
      Buffer.from(
        '{"type":"assignment","eventId":"\\udc00-x","tenantId":"utf-t","occurredAt":"2026-11-05T10:00:00Z","customerId":"c-\\udbff","playbookId":"pb-1","playbookName":"P","campaignId":"cm-1","campaignName":"C","action":"entered"}\n',
      ),
    ]);
    const response = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { ...bearer(TENANT), 'content-type': 'application/x-ndjson' },
      payload: body,
    });
    expect(response.statusCode).toBe(202);
    expect(response.json()).toEqual({
      accepted: 1,
      rejectedCount: 5,
      rejected: [
        { index: 0, reason: 'eventId: invalid UTF-8' },
        { index: 1, reason: 'eventId: invalid UTF-8' },
        { index: 2, reason: 'eventId: invalid UTF-8' },
        { index: 4, reason: 'eventId: lone surrogate \\ud800' },
        { index: 5, reason: 'eventId: lone surrogate \\udc00; customerId: lone surrogate \\udbff' },
      ],
    });

    // A JSON body (one document) that is not UTF-8 is refused as a whole, nothing published.
    const array = Buffer.concat([
      Buffer.from('['),
      ...lines.flatMap((line, i) => (i === 0 ? [line] : [Buffer.from(','), line])),
      Buffer.from(']'),
    ]);
    const refused = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { ...bearer(TENANT), 'content-type': 'application/json' },
      payload: array,
    });
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toEqual({
      error: { code: 'BAD_REQUEST', message: expect.stringMatching(/^body: is not valid UTF-8/) as string },
    });

    await caughtUp();
    expect(await eventIds()).toContain('http-ok');
    expect((await eventIds()).filter((id) => id.endsWith('-x'))).toEqual([]);
  });

  it('Kafka: JSON and Avro records with invalid UTF-8 or a lone surrogate are dead-lettered with the field named', async () => {
    const records: { value: Buffer; reason: RegExp }[] = [];
    for (const bytes of INVALID) {
      // Avro single-object: the string keeps its length, its bytes are replaced.
      const avro = encodeEvent(assignment(bytes.length === 1 ? '@-x' : '@@-x'));
      const at = avro.indexOf('@');
      Buffer.from(bytes).copy(avro, at);
      records.push({ value: avro, reason: /^undecodable \(invalid-utf8\): eventId: invalid UTF-8 \(an assignment\.v1 record\)$/ });
      // The decode step reads JSON records strictly (parseJsonEvent) and names the field.
      records.push({ value: jsonWith(assignment('@@-x'), bytes), reason: /^invalid event: eventId: invalid UTF-8$/ });
    }
    records.push({
      value: Buffer.from(JSON.stringify(assignment('@@-x')).replace('@@', '\\ud800')),
      reason: /^invalid event: eventId: lone surrogate \\ud800$/,
    });
    records.push({
      value: Buffer.from(JSON.stringify({ ...assignment('k-ok'), customerId: '@@' }).replace('@@', '\\udfff')),
      reason: /^invalid event: customerId: lone surrogate \\udfff$/,
    });
    const producer = bed.kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const sent = new Map<string, RegExp>();
    for (const record of records) {
      const [result] = await producer.send({ topic: topics.assignments, acks: -1, messages: [{ key: 'k', value: record.value }] });
      sent.set(`${result!.partition}/${result!.baseOffset}`, record.reason);
    }
    await producer.disconnect();

    await caughtUp();
    const letters = await readDeadLetters(bed.kafka, topics.deadLetter, (list) => list.length >= records.length);
    const reasons = new Map<string, string>();
    for (const letter of letters) {
      reasons.set(
        `${letter.headers[DEAD_LETTER_HEADERS.partition]}/${letter.headers[DEAD_LETTER_HEADERS.offset]}`,
        letter.headers[DEAD_LETTER_HEADERS.reason]!,
      );
    }
    expect(reasons.size).toBe(records.length);
    for (const [source, reason] of sent) expect(reasons.get(source), source).toMatch(reason);
    expect((await eventIds()).filter((id) => id.endsWith('-x'))).toEqual([]);
  });
});
