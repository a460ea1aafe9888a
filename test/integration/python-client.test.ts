import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { confluentSchemaId } from '../../services/events/encodings.js';
import { topicNames, type TopicNames } from '../../services/events/topics.js';
import type { SendingEvent } from '../../services/events/types.js';
import { verifyOffsets } from '../../services/operations/offsets.js';
import { verifyRollups } from '../../services/operations/rollups.js';
import { diffTruth, generateEvents, groundTruth, shuffle } from '../../fixtures/events.js';
import { ROOT } from '../support/cli.js';
import { openIngestBed, type IngestBed } from '../support/ingest.js';
import { partitionProgress } from '../support/group-progress.js';
import { readAggregates } from '../support/tables.js';
import { readDeadLetters } from '../support/dead-letters.js';
import { waitFor } from '../support/wait-for.js';
import { recordsIn } from '../support/kafka.js';
import { openTestSchemaRegistry, type TestSchemaRegistry } from '../support/schema-registry.js';

const run = promisify(execFile);

type Encoding = 'avro' | 'json' | 'json-schema';
const ENCODINGS: Encoding[] = ['avro', 'json', 'json-schema'];

async function drained(bed: IngestBed, topics: TopicNames): Promise<boolean> {
  for (const topic of [topics.assignments, topics.deliveries]) {
    for (const p of await partitionProgress(bed.admin, bed.config.ingest.groupId, topic))
      if (p.high > 0 && p.committed !== p.high) return false;
  }
  return true;
}

async function eventIds(bed: IngestBed, table: string): Promise<string[]> {
  const result = await bed.clickhouse.client.query({
    query: `SELECT event_id FROM ${table} ORDER BY event_id`,
    format: 'JSONCompactEachRow',
  });
  return ((await result.json()) as [string][]).map(([id]) => id);
}

/**
 * Producers written with Confluent's Python client (confluent-kafka, librdkafka inside; installed
 * by scripts/python-client.sh into a venv under .cache/python) publish to the real broker, through
 * the real schema registry: Avro with the stock AvroSerializer and the project's .avsc files, plain
 * JSON events, and JSONSerializer-framed JSON with the project's JSON Schemas; some events twice,
 * in another encoding or the same. The ingest counts each event exactly once, dead-letters
 * nothing, and `verify`'s checks (rollups against raw rows, every committed offset accounted for)
 * are clean.
 */
describe('ingest: records produced by the Confluent Python client', () => {
  let python: string;
  let registry: TestSchemaRegistry;
  let bed: IngestBed;
  let topics: TopicNames;
  const previousUrl = process.env.SCHEMA_REGISTRY_URL;

  beforeAll(async () => {
    // Installs once (about 30 s), then prints the cached venv's python.
    python = (await run('bash', [path.join(ROOT, 'scripts/python-client.sh')], { encoding: 'utf8' })).stdout.trim();
    registry = await openTestSchemaRegistry();
    process.env.SCHEMA_REGISTRY_URL = registry.url;
    bed = await openIngestBed('python-client', { batchMaxRows: 50, batchMaxMs: 100 });
    topics = topicNames(bed.config.topicPrefix);
  }, 600_000); // the first start builds the registry (about 1.5 minutes; `make test` does it before)

  afterAll(async () => {
    await bed?.close();
    await registry?.close();
    if (previousUrl === undefined) delete process.env.SCHEMA_REGISTRY_URL;
    else process.env.SCHEMA_REGISTRY_URL = previousUrl;
  });

  it('Avro (AvroSerializer), plain JSON and JSONSerializer records with duplicates: each event counted once, verify clean', async () => {
    const startMs = Date.UTC(2026, 10, 24);
    const events = generateEvents({ seed: 31, count: 240, startMs, spanMs: 2 * 86_400_000, idPrefix: 'py' });
    const lines: { encoding: Encoding; event: SendingEvent }[] = events.map((event, i) => ({ encoding: ENCODINGS[i % 3]!, event }));
    // Every 8th event published again: in the next encoding (odd) or the same one (even).
    const duplicates = events
      .filter((_, i) => i % 8 === 0)
      .map((event, j) => ({ encoding: ENCODINGS[(events.indexOf(event) + (j % 2 === 1 ? 1 : 0)) % 3]!, event }));
    const stream = shuffle([...lines, ...duplicates], 32);
    const file = path.join(os.tmpdir(), `python-client-${Date.now()}.ndjson`);
    fs.writeFileSync(file, stream.map((line) => JSON.stringify(line)).join('\n'));

    let output: string;
    try {
      const args = ['--bootstrap', bed.config.kafkaBrokers.join(','), '--registry', registry.url];
      args.push('--assignments', topics.assignments, '--deliveries', topics.deliveries, '--file', file);
      output = (await run(python, [path.join(ROOT, 'fixtures/python/produce.py'), ...args], { encoding: 'utf8', timeout: 120_000 })).stdout;
    } finally {
      fs.rmSync(file, { force: true });
    }
    const report = JSON.parse(output) as { delivered: Record<Encoding, number>; errors: string[] };
    const expectedPerEncoding = Object.fromEntries(ENCODINGS.map((e) => [e, stream.filter((line) => line.encoding === e).length]));
    expect(report).toEqual({ delivered: expectedPerEncoding, errors: [] });
    expect(duplicates.length).toBe(30);

    // On the wire: keys tenantId:customerId; Avro and JSON Schema framed with their registry ids; plain JSON as is.
    const total = stream.length;
    expect(await recordsIn(bed.kafka, [topics.assignments, topics.deliveries])).toBe(total);
    const onTopic = (type: SendingEvent['type']) => stream.filter((line) => line.event.type === type).length;
    const records = [
      ...(await readDeadLetters(bed.kafka, topics.assignments, (list) => list.length >= onTopic('assignment'))),
      ...(await readDeadLetters(bed.kafka, topics.deliveries, (list) => list.length >= onTopic('delivery'))),
    ];
    expect(records.length).toBe(total);
    await waitFor('the ingest to commit every partition to its end', () => drained(bed, topics), 120_000);
    const byEncoding = { avro: new Set<number>(), json: 0, 'json-schema': new Set<number>() };
    for (const record of records) {
      const value = record.value!;
      if (value[0] === 0x7b) {
        byEncoding.json += 1;
        const event = JSON.parse(value.toString('utf8')) as SendingEvent;
        expect(record.key?.toString()).toBe(`${event.tenantId}:${event.customerId}`);
        continue;
      }
      expect(value[0]).toBe(0);
      (value[5] === 0x7b ? byEncoding['json-schema'] : byEncoding.avro).add(confluentSchemaId(value));
      expect(record.key?.toString()).toMatch(/^tenant-\d:c-\d+$/);
    }
    // One Avro id per topic (<topic>-value) and one JSON Schema id per topic (<topic>-json-value), all distinct.
    expect(byEncoding.avro.size).toBe(2);
    expect(byEncoding['json-schema'].size).toBe(2);
    expect(new Set([...byEncoding.avro, ...byEncoding['json-schema']]).size).toBe(4);
    for (const id of byEncoding['json-schema']) {
      const answer = (await (await fetch(`${registry.url}/schemas/ids/${id}`)).json()) as { schemaType?: string };
      expect(answer.schemaType).toBe('JSON');
    }

    // Counted: each distinct event once, nothing dead-lettered, the rollups equal the ground truth.
    expect(await eventIds(bed, 'assignment_events')).toEqual(
      events
        .filter((e) => e.type === 'assignment')
        .map((e) => e.eventId)
        .sort(),
    );
    expect(await eventIds(bed, 'delivery_events')).toEqual(
      events
        .filter((e) => e.type === 'delivery')
        .map((e) => e.eventId)
        .sort(),
    );
    expect(await recordsIn(bed.kafka, [topics.deadLetter])).toBe(0);
    expect(diffTruth(groundTruth(stream.map((line) => line.event)), await readAggregates(bed.clickhouse.client))).toEqual([]);

    // What `verify` checks: every rollup bucket against the raw rows, every committed offset accounted for.
    const rollups = await verifyRollups(bed.clickhouse.client, startMs, startMs + 2 * 86_400_000);
    expect(rollups.differences).toEqual([]);
    expect(Object.values(rollups.compared).every((n) => n > 0)).toBe(true);
    const offsets = await verifyOffsets(bed.clickhouse.client, bed.admin, bed.config.ingest.groupId, [
      { topic: topics.assignments, table: 'assignment_events' },
      { topic: topics.deliveries, table: 'delivery_events' },
    ]);
    expect(offsets.missing).toBe(0);
    expect(offsets.partitions.reduce((sum, p) => sum + (p.to - p.from), 0)).toBe(total);
    expect(bed.ingest.schemaRegistryHealth()).toEqual({ ok: true });
  });
});
