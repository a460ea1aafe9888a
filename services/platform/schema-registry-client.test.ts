import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSchemaRegistryClient, SchemaRegistryUnavailableError, type SchemaRegistryClient } from './schema-registry-client.js';

const root = path.resolve(import.meta.dirname, '../..');
const text = (file: string) => fs.readFileSync(path.join(root, file), 'utf8');

/** What a Confluent-compatible registry answers to GET /schemas/ids/{id}, per id (undefined: 404, 'down': 503). */
const answers = new Map<number, Record<string, unknown> | 'down'>([
  [1, { schema: text('schemas/avro/delivery.v1.avsc') }],
  [2, { schema: text('schemas/json/delivery.schema.json'), schemaType: 'JSON' }],
  [3, { schema: 'syntax = "proto3";\nmessage M { string x = 1; }\n', schemaType: 'PROTOBUF' }],
  [4, { schema: JSON.stringify({ $schema: 'http://json-schema.org/draft-07/schema#', type: 'object' }), schemaType: 'JSON' }],
  [5, 'down'],
]);

describe('createSchemaRegistryClient: schemaById', () => {
  let server: http.Server;
  let client: SchemaRegistryClient;
  const authorizations: (string | undefined)[] = [];

  beforeAll(async () => {
    server = http.createServer((request, response) => {
      authorizations.push(request.headers.authorization);
      const id = Number(/^\/ccompat\/schemas\/ids\/(\d+)$/.exec(request.url ?? '')?.[1]);
      const answer = answers.get(id);
      const status = answer === undefined ? 404 : answer === 'down' ? 503 : 200;
      response.writeHead(status, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
      response.end(JSON.stringify(typeof answer === 'object' ? answer : { error_code: status * 100 + 3, message: 'no' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/ccompat`);
    client = createSchemaRegistryClient({ url, username: 'user', password: 'secret' });
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('an Avro schema is found as Avro', async () => {
    const found = await client.schemaById(1);
    expect(found).toMatchObject({ kind: 'found' });
    expect(found.kind === 'found' && (JSON.parse(found.schema) as { name: string }).name).toBe('io.sendingmetrics.events.Delivery');
    expect(found.kind === 'found' && (found.schemaType ?? 'AVRO')).toBe('AVRO');
  });

  it('a JSON Schema (draft 2020-12 or 07) and a Protobuf schema are found with their schemaType and text', async () => {
    expect(await client.schemaById(2)).toEqual({ kind: 'found', schemaType: 'JSON', schema: text('schemas/json/delivery.schema.json') });
    expect(await client.schemaById(4)).toMatchObject({ kind: 'found', schemaType: 'JSON' });
    expect(await client.schemaById(3)).toMatchObject({ kind: 'found', schemaType: 'PROTOBUF' });
  });

  it('404 is not-found; a registry that cannot answer throws; credentials go with every request', async () => {
    expect(await client.schemaById(99)).toEqual({ kind: 'not-found' });
    await expect(client.schemaById(5)).rejects.toBeInstanceOf(SchemaRegistryUnavailableError);
    expect(new Set(authorizations)).toEqual(new Set([`Basic ${Buffer.from('user:secret').toString('base64')}`]));
  });
});
