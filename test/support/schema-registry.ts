import { execFileSync, spawnSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

/**
 * Schema registries for the tests.
 * - openTestSchemaRegistry: a real one. TEST_SCHEMA_REGISTRY_URL points at one
 *   (Confluent-compatible: Confluent Schema Registry, Apicurio's /apis/ccompat/v7, Karapace);
 *   without it, the project's Apicurio Registry (deploy/registry/registry.sh: built once from
 *   Maven Central, in-memory storage, loopback), started here and stopped at close if this
 *   call started it.
 * - openStandInSchemaRegistry: a stand-in of the few Confluent REST calls the project makes,
 *   in the test process on loopback, for what a real registry cannot be made to do on cue:
 *   `setDown` makes it answer every request with a 503, as a failing registry would. It checks
 *   no compatibility.
 */
export interface TestSchemaRegistry {
  url: string;
  /** Registers a schema (Avro JSON) under a subject as a producer in another language would; returns its id. */
  register(subject: string, schema: object): Promise<number>;
  /** The stand-in only: 503 for every request while down. */
  setDown?(down: boolean): void;
  /** Requests for a schema by id seen so far (the stand-in only). */
  lookups?: number[];
  close(): Promise<void>;
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

async function registerOver(url: string, subject: string, schema: object): Promise<number> {
  const response = await fetch(`${url}/subjects/${encodeURIComponent(subject)}/versions`, {
    method: 'POST',
    headers: { 'content-type': CONTENT_TYPE },
    body: JSON.stringify({ schema: JSON.stringify(schema) }),
  });
  if (!response.ok) throw new Error(`registering ${subject} failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { id: number }).id;
}

const SCRIPT = path.resolve(import.meta.dirname, '../../deploy/registry/registry.sh');

export async function openTestSchemaRegistry(): Promise<TestSchemaRegistry> {
  const external = process.env.TEST_SCHEMA_REGISTRY_URL;
  if (external) {
    const url = external.replace(/\/$/, '');
    return { url, register: (subject, schema) => registerOver(url, subject, schema), close: async () => undefined };
  }
  const alreadyUp = spawnSync('bash', [SCRIPT, 'status'], { stdio: 'ignore' }).status === 0;
  execFileSync('bash', [SCRIPT, 'start'], { stdio: 'inherit' });
  const url = execFileSync('bash', [SCRIPT, 'url'], { encoding: 'utf8' }).trim();
  console.log(`[test] schema registry: Apicurio Registry at ${url}${alreadyUp ? ' (already running, reused)' : ''}`);
  return {
    url,
    register: (subject, schema) => registerOver(url, subject, schema),
    close: async () => {
      if (!alreadyUp && process.env.TEST_KEEP_REGISTRY !== '1') execFileSync('bash', [SCRIPT, 'stop'], { stdio: 'inherit' });
    },
  };
}

export async function openStandInSchemaRegistry(): Promise<TestSchemaRegistry> {
  const schemas: string[] = [];
  const subjects = new Map<string, { ids: number[]; compatibility?: string }>();
  const lookups: number[] = [];
  let down = false;
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      const send = (status: number, value: unknown) => {
        response.writeHead(status, { 'content-type': CONTENT_TYPE });
        response.end(JSON.stringify(value));
      };
      if (down) return send(503, { error_code: 50003, message: 'unavailable' });
      const path = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
      let match: RegExpExecArray | null;
      if ((match = /^\/schemas\/ids\/(\d+)$/.exec(path)) && request.method === 'GET') {
        const id = Number(match[1]);
        lookups.push(id);
        const schema = schemas[id - 1];
        return schema === undefined ? send(404, { error_code: 40403, message: 'Schema not found' }) : send(200, { schema });
      }
      if ((match = /^\/subjects\/([^/]+)\/versions$/.exec(path)) && request.method === 'POST') {
        const schema = (JSON.parse(body) as { schema: string }).schema;
        let id = schemas.indexOf(schema) + 1;
        if (id === 0) id = schemas.push(schema);
        const subject = subjects.get(match[1]!) ?? { ids: [] };
        if (!subject.ids.includes(id)) subject.ids.push(id);
        subjects.set(match[1]!, subject);
        return send(200, { id });
      }
      if ((match = /^\/config\/([^/]+)$/.exec(path))) {
        const subject = subjects.get(match[1]!);
        if (request.method === 'PUT') {
          const compatibility = (JSON.parse(body) as { compatibility: string }).compatibility;
          subjects.set(match[1]!, { ids: subject?.ids ?? [], compatibility });
          return send(200, { compatibility });
        }
        return subject?.compatibility
          ? send(200, { compatibilityLevel: subject.compatibility })
          : send(404, { error_code: 40408, message: 'Subject does not have subject-level compatibility configured' });
      }
      return send(404, { error_code: 404, message: `no route ${request.method} ${path}` });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    register: (subject, schema) => registerOver(url, subject, schema),
    setDown: (value) => (down = value),
    lookups,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
