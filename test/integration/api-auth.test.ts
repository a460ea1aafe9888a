import type { FastifyInstance } from 'fastify';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKEN_ISSUER } from '../../services/api/auth/tokens.js';
import { applyMigrations } from '../../services/migrations/migrate.js';
import type { ClickHouseHandle } from '../../services/platform/clickhouse.js';
import { createLogger } from '../../services/platform/logger.js';
import { buildTestApp, TEST_SECRET } from '../support/api.js';
import { openTestClickHouse } from '../support/clickhouse.js';
import { runCli } from '../support/cli.js';

const DAY_S = 86_400;
const now = () => Math.floor(Date.now() / 1000);

/** A correctly signed HS256 token with exactly these claims (no defaults added, any value allowed). */
function signed(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  // A claim given as undefined is left out (JSON.stringify drops it).
  const unsigned = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ iss: TOKEN_ISSUER, tenant: 'tenant-0', sub: 'tester', ...claims })}`;
  return `${unsigned}.${crypto.createHmac('sha256', TEST_SECRET).update(unsigned).digest('base64url')}`;
}

describe('bearer tokens: exp required, bounded lifetime, no times in the future', () => {
  let clickhouse: ClickHouseHandle;
  let app: FastifyInstance;

  beforeAll(async () => {
    const opened = await openTestClickHouse('api-auth');
    clickhouse = opened.handle;
    await applyMigrations(clickhouse.client, createLogger('silent'));
    app = await buildTestApp(opened.config, clickhouse.client);
  });

  afterAll(async () => {
    await app?.close();
    await clickhouse?.close();
  });

  const get = (token: string) =>
    app.inject({
      method: 'GET',
      url: '/v1/metrics/campaigns?from=2026-11-01T00:00:00Z&to=2026-11-01T00:00:00Z&campaignId=none',
      headers: { authorization: `Bearer ${token}` },
    });

  it('refuses each out-of-bounds token with 401 UNAUTHORIZED saying what was wrong, without echoing the token', async () => {
    const t = now();
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['no exp', { iat: t }, /no expiry \(exp\)/],
      ['no exp, no iat', {}, /no expiry \(exp\)/],
      ['lifetime of a year', { iat: t, exp: t + 365 * DAY_S }, /lifetime .* longer than the maximum of 30 days/],
      ['no iat, exp a year away', { exp: t + 365 * DAY_S }, /lifetime .* longer than the maximum of 30 days/],
      ['iat a year in the future', { iat: t + 365 * DAY_S, exp: t + 365 * DAY_S + 3600 }, /issued in the future \(iat /],
      ['iat 10 minutes in the future', { iat: t + 600, exp: t + 3600 }, /issued in the future \(iat /],
      ['nbf an hour in the future', { iat: t, nbf: t + 3600, exp: t + 7200 }, /not valid yet \(nbf is in the future\)/],
      ['exp an hour ago', { iat: t - 7200, exp: t - 3600 }, /has expired/],
      ['exp not a number', { iat: t, exp: 'tomorrow' }, /claim/],
      // Times beyond what a Date holds (±8.64e15 ms): refused, never a RangeError (500).
      ['exp past the end of time', { iat: t, exp: 8.64e12 + 1 }, /lifetime .* longer|exp|claims are not valid/],
      ['exp before the start of time', { iat: t, exp: -8.64e12 - 1 }, /exp is out of range/],
      ['exp 1e300', { iat: t, exp: 1e300 }, /lifetime .* longer|exp|claims are not valid/],
      ['nbf past the end of time', { iat: t, nbf: 8.64e12 + 1, exp: t + 3600 }, /not valid yet|nbf|claims are not valid/],
      ['nbf -1e300', { iat: t, nbf: -1e300, exp: t + 3600 }, /nbf|claims are not valid/],
      ['iat past the end of time', { iat: 8.64e12 + 1, exp: t + 3600 }, /issued in the future|iat|claims are not valid/],
      ['exp the largest number', { iat: t, exp: Number.MAX_VALUE }, /exp is out of range/],
      // The issuer is required: a token without iss, or another issuer's, is not ours.
      ['no iss', { iss: undefined, iat: t, exp: t + 3600 }, /no issuer \(iss\); expected "sending-metrics"/],
      ['another issuer', { iss: 'someone-else', iat: t, exp: t + 3600 }, /issuer \(iss\) is not "sending-metrics"/],
    ];
    for (const [what, claims, message] of cases) {
      const token = signed(claims);
      const response = await get(token);
      expect(response.statusCode, what).toBe(401);
      const error = (response.json() as { error: { code: string; message: string } }).error;
      expect(error.code, what).toBe('UNAUTHORIZED');
      expect(error.message, what).toMatch(message);
      expect(response.body).not.toContain(token.split('.')[1]!);
      expect(response.body).not.toContain(token.split('.')[2]!);
    }
  });

  it('accepts a small clock skew and the maximum lifetime', async () => {
    const t = now();
    const cases: [string, Record<string, unknown>][] = [
      ['iat 30 s ahead', { iat: t + 30, exp: t + 3600 }],
      ['nbf 30 s ahead', { iat: t, nbf: t + 30, exp: t + 3600 }],
      ['exp 30 s ago', { iat: t - 3600, exp: t - 30 }],
      ['30 days exactly', { iat: t, exp: t + 30 * DAY_S }],
      ['no iat, 29 days left', { exp: t + 29 * DAY_S }],
    ];
    for (const [what, claims] of cases) {
      const response = await get(signed(claims));
      expect(response.statusCode, `${what}: ${response.body}`).toBe(200);
    }
  });

  it('`token --ttl` longer than 30 days is a usage error (exit 2); 30d signs a token the API accepts', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-token-'));
    const env = { DATA_DIR: dataDir, AUTH_JWT_SECRET: TEST_SECRET };
    const tooLong = await runCli(['token', '--tenant', 'tenant-0', '--ttl', '31d'], env);
    expect(tooLong.code).toBe(2);
    expect(tooLong.stderr).toMatch(/--ttl "31d" is longer than the maximum of 30 days/);
    expect(tooLong.stdout).toBe('');
    const hours = await runCli(['token', '--tenant', 'tenant-0', '--ttl', '721h'], env);
    expect(hours.code).toBe(2);
    const longest = await runCli(['token', '--tenant', 'tenant-0', '--ttl', '30d'], env);
    expect(longest.code, longest.stderr).toBe(0);
    expect((await get(longest.stdout.trim())).statusCode).toBe(200);
  });
});
