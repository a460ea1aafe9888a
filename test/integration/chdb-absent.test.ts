import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { topicNames } from '../../services/events/topics.js';
import { createKafka } from '../../services/platform/kafka.js';
import { createLogger } from '../../services/platform/logger.js';
import type { Config } from '../../services/platform/config.js';
import { runCli, startCli, waitForExit } from '../support/cli.js';
import { deleteTopics } from '../support/kafka.js';

/**
 * The image meant for CLICKHOUSE_URL deployments has no embedded engine (npm `chdb`, an
 * optional dependency). Here the module is hidden from the CLI by a resolve hook that answers
 * `import('chdb…')` the way Node does for a package that is not installed. No ClickHouse server
 * runs on this machine, so the ClickHouse at CLICKHOUSE_URL is a stand-in speaking the HTTP
 * interface: it accepts every statement and answers reads with no rows, then goes away to show
 * that /readyz names ClickHouse as the failing dependency.
 */

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'chdb-absent-'));
fs.writeFileSync(
  path.join(work, 'hooks.mjs'),
  `export async function resolve(specifier, context, next) {
  if (specifier === 'chdb' || specifier.startsWith('chdb/')) {
    const error = new Error("Cannot find package 'chdb' imported from " + context.parentURL);
    error.code = 'ERR_MODULE_NOT_FOUND';
    throw error;
  }
  return next(specifier, context);
}
`,
);
fs.writeFileSync(path.join(work, 'hide-chdb.mjs'), `import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n`);
const HIDE_CHDB = `--import=${pathToFileURL(path.join(work, 'hide-chdb.mjs')).href}`;

/** A ClickHouse HTTP interface that accepts everything and stores nothing. */
class StandInClickHouse {
  readonly statements: string[] = [];
  private readonly server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const url = new URL(request.url ?? '/', 'http://stand-in');
      if (url.pathname === '/ping') {
        response.end('Ok.\n');
        return;
      }
      const query = url.searchParams.get('query') ?? body;
      this.statements.push(query);
      response.setHeader('Content-Type', 'text/plain; charset=UTF-8');
      response.setHeader('X-ClickHouse-Summary', '{"read_rows":"0","written_rows":"0"}');
      // Reads get no rows; `FORMAT JSON` (not JSONEachRow / JSONCompactEachRow) is one object.
      response.end(/FORMAT\s+JSON\s*$/i.test(query) ? '{"meta":[],"data":[],"rows":0}' : '');
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://default:@127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const SECRET = 'chdb-absent-test-secret-0123456789abcdef';

async function get(url: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: response.status, body: await response.text() };
}

async function eventually<T>(probe: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await probe();
  while (!accept(last) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    last = await probe();
  }
  return last;
}

describe('without the embedded engine installed', () => {
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it('hides chdb for real: the same resolve hook makes a direct import fail as a missing package', async () => {
    const { code, stderr } = await runCli(['token', '--tenant', 't'], { NODE_OPTIONS: HIDE_CHDB, AUTH_JWT_SECRET: SECRET });
    expect(code).toBe(0); // the hook itself breaks nothing else
    const probe = path.join(work, 'probe.mjs');
    fs.writeFileSync(probe, "await import('chdb/connection');\n");
    const { spawnSync } = await import('node:child_process');
    const result = spawnSync(process.execPath, [HIDE_CHDB, probe], { encoding: 'utf8', cwd: path.resolve(import.meta.dirname, '../..') });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("Cannot find package 'chdb'");
    expect(stderr).not.toContain('chdb');
  });

  for (const args of [['run', '--role', 'api'], ['run', '--role', 'ingest'], ['migrate']]) {
    it(`\`${args.join(' ')}\` with no CLICKHOUSE_URL either stops with one line and exit 78`, async () => {
      const { code, stdout, stderr } = await runCli(
        args,
        {
          NODE_OPTIONS: HIDE_CHDB,
          CLICKHOUSE_URL: undefined,
          CLICKHOUSE_CLUSTER: undefined,
          DATA_DIR: path.join(work, `data-missing-${args.join('-')}`),
          AUTH_JWT_SECRET: SECRET,
          PORT: '0',
          LOG_LEVEL: 'error',
        },
        undefined,
        60_000,
      );
      expect(code).toBe(78);
      expect(stdout).toBe('');
      const lines = stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        /^configuration error: CLICKHOUSE_URL is unset and the embedded engine \(npm package chdb\) is not installed/,
      );
    });
  }

  describe('with CLICKHOUSE_URL set', () => {
    const stamp = Date.now();
    const prefix = `chdb-absent-${stamp}.`;
    const kafka = createKafka(
      { kafkaBrokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), topicPrefix: prefix } as unknown as Config,
      createLogger('error'),
      'chdb-absent-test',
    );

    afterAll(async () => {
      await deleteTopics(kafka, Object.values(topicNames(prefix))).catch(() => undefined);
    });

    for (const role of ['api', 'ingest'] as const) {
      it(`the ${role} role starts, answers /healthz and /readyz, and /readyz names ClickHouse once it is gone`, async () => {
        const clickhouse = new StandInClickHouse();
        const clickhouseUrl = await clickhouse.start();
        let child: Awaited<ReturnType<typeof startCli>>['child'] | undefined;
        try {
          const started = await startCli(['run', '--role', role], {
            NODE_OPTIONS: HIDE_CHDB,
            CLICKHOUSE_URL: clickhouseUrl,
            CLICKHOUSE_CLUSTER: undefined,
            DATA_DIR: path.join(work, `data-${role}`),
            HOST: '127.0.0.1',
            PORT: '0',
            AUTH_JWT_SECRET: SECRET,
            TOPIC_PREFIX: prefix,
            INGEST_GROUP_ID: `chdb-absent-${stamp}`,
            INGEST_INSTANCE_ID: `chdb-absent-${role}`,
            INGEST_SESSION_TIMEOUT_MS: '6000',
            LOG_LEVEL: 'warn',
          });
          child = started.child;
          const output = started.output();
          expect(output).toContain(`sending-metrics ready (${role}; ClickHouse server;`);
          expect(output).not.toMatch(/chdb/i);
          const base = role === 'api' ? started.url! : /readiness: (\S+)\/readyz/.exec(output)![1]!;
          // The migrations went to the server at CLICKHOUSE_URL.
          expect(clickhouse.statements.some((statement) => /CREATE TABLE IF NOT EXISTS/i.test(statement))).toBe(true);

          expect((await get(`${base}/healthz`)).status).toBe(200);
          const ready = await eventually(
            () => get(`${base}/readyz`),
            (answer) => answer.status === 200,
          );
          expect(ready.status, ready.body).toBe(200);
          expect(ready.body).toContain('clickhouse');

          await clickhouse.stop();
          const notReady = await eventually(
            () => get(`${base}/readyz`),
            (answer) => answer.status === 503,
            15_000,
          );
          expect(notReady.status).toBe(503);
          const checks = (JSON.parse(notReady.body) as { checks: Record<string, { ok: boolean; detail?: string }> }).checks;
          expect(checks.clickhouse?.ok).toBe(false);
          expect((await get(`${base}/healthz`)).status).toBe(200);

          child.kill('SIGTERM');
          expect(await waitForExit(child, 60_000)).toBe(0);
          child = undefined;
        } finally {
          child?.kill('SIGKILL');
          await clickhouse.stop().catch(() => undefined);
        }
      });
    }
  });
});
