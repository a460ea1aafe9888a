import { describe, expect, it } from 'vitest';
import { ConfluentReader } from '../events/confluent-reader.js';
import { confluentFrame } from '../events/encodings.js';
import { createLogger } from '../platform/logger.js';
import type { SchemaLookup, SchemaRegistryClient } from '../platform/schema-registry-client.js';
import type { SourceRecord } from './record.js';
import { WriterSchemas } from './writer-schemas.js';

const records = (...ids: number[]): SourceRecord[] =>
  ids.map((id, offset) => ({ topic: 't', partition: 0, offset, key: null, value: confluentFrame(id, Buffer.from([0])) }));

function fakeClient(answer: (id: number, call: number) => SchemaLookup): SchemaRegistryClient & { calls: number[] } {
  const calls: number[] = [];
  return {
    address: 'http://registry',
    calls,
    schemaById: async (id) => {
      calls.push(id);
      return answer(id, calls.length);
    },
    register: async () => ({ id: 1, compatibility: 'BACKWARD' }),
  };
}

describe('WriterSchemas: looks up each new schema id once; waits while the registry fails', () => {
  const logger = createLogger('silent');

  it('one request per new id, none for ids already learnt', async () => {
    const reader = new ConfluentReader();
    const client = fakeClient(() => ({ kind: 'not-found' }));
    const schemas = new WriterSchemas(reader, client, logger);
    expect(
      await schemas.prepare(
        records(1, 2, 1, 2),
        async () => undefined,
        () => false,
      ),
    ).toBe(true);
    expect(
      await schemas.prepare(
        records(2, 1, 3),
        async () => undefined,
        () => false,
      ),
    ).toBe(true);
    expect(client.calls).toEqual([1, 2, 3]);
  });

  it('retries with growing waits and reports not ready until the registry answers', async () => {
    const reader = new ConfluentReader();
    const client = fakeClient((_, call) => {
      if (call < 4) throw new Error('connect ECONNREFUSED 127.0.0.1:8081');
      return { kind: 'not-found' };
    });
    const schemas = new WriterSchemas(reader, client, logger);
    const waits: number[] = [];
    const health: boolean[] = [];
    const done = await schemas.prepare(
      records(5),
      async (ms) => {
        waits.push(ms);
        health.push(schemas.health().ok);
      },
      () => false,
    );
    expect(done).toBe(true);
    expect(waits).toEqual([250, 500, 1000]);
    expect(health).toEqual([false, false, false]);
    expect(schemas.health()).toEqual({ ok: true });
    expect(reader.knows(5)).toBe(true);
  });

  it('gives up when cancelled (partition revoked), learning nothing', async () => {
    const reader = new ConfluentReader();
    const client = fakeClient(() => {
      throw new Error('503');
    });
    const schemas = new WriterSchemas(reader, client, logger);
    let cancelled = false;
    const done = await schemas.prepare(
      records(6),
      async () => void (cancelled = true),
      () => cancelled,
    );
    expect(done).toBe(false);
    expect(reader.knows(6)).toBe(false);
    expect(schemas.health()).toMatchObject({ ok: false, detail: expect.stringMatching(/cannot look up schema id 6: 503/) });
  });
});
