import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../../services/api/auth/tokens.js';
import { applyMigrations } from '../../services/migrations/migrate.js';
import type { ClickHouseHandle } from '../../services/platform/clickhouse.js';
import { ConfigError, loadConfig, type Config } from '../../services/platform/config.js';
import { createLogger } from '../../services/platform/logger.js';
import { buildTestApp, TEST_SECRET } from '../support/api.js';
import { openTestClickHouse } from '../support/clickhouse.js';

const URL = '/v1/metrics/outreach?from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z';

const tokenOf = (tenantId: string, userId = 'tester') => signToken(TEST_SECRET, { tenantId, userId }, 3_600_000);

describe('rate limits: by verified identity, per tenant, proxies trusted only as configured', () => {
  let clickhouse: ClickHouseHandle;
  let config: Config;
  const apps: FastifyInstance[] = [];

  beforeAll(async () => {
    const opened = await openTestClickHouse('api-rate-limit');
    clickhouse = opened.handle;
    config = opened.config;
    await applyMigrations(clickhouse.client, createLogger('silent'));
  });

  afterAll(async () => {
    for (const app of apps) await app.close();
    await clickhouse?.close();
  });

  async function appWith(api: Partial<Config['api']>): Promise<FastifyInstance> {
    const app = await buildTestApp(config, clickhouse.client, api);
    apps.push(app);
    return app;
  }

  it('other spellings of the same token share its budget', async () => {
    const app = await appWith({ rateLimitPerMinute: 3 });
    const token = tokenOf('tenant-0');
    const spellings = [
      `Bearer ${token}`,
      `bearer ${token}`,
      `BEARER  ${token}`,
      `BeArEr\t${token} `,
      `Bearer ${token}  `,
      `bEARER ${token}`,
    ];
    const codes: number[] = [];
    for (const authorization of spellings)
      codes.push((await app.inject({ method: 'GET', url: URL, headers: { authorization } })).statusCode);
    expect(codes).toEqual([200, 200, 200, 429, 429, 429]);
  });

  it('two tokens of the same user share one budget; another user of the tenant has their own', async () => {
    const app = await appWith({ rateLimitPerMinute: 2 });
    const first = tokenOf('tenant-0', 'alice');
    // Another token of the same identity (signed later: different iat and bytes).
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const second = tokenOf('tenant-0', 'alice');
    expect(second).not.toBe(first);
    const ask = (token: string) => app.inject({ method: 'GET', url: URL, headers: { authorization: `Bearer ${token}` } });
    expect([(await ask(first)).statusCode, (await ask(second)).statusCode, (await ask(first)).statusCode]).toEqual([200, 200, 429]);
    expect((await ask(tokenOf('tenant-0', 'bob'))).statusCode).toBe(200);
  });

  it('many users of one tenant share a tenant budget and do not starve another tenant', async () => {
    const app = await appWith({ rateLimitPerMinute: 2, rateLimitPerTenantPerMinute: 5 });
    const codes: number[] = [];
    for (let user = 0; user < 8; user += 1) {
      const response = await app.inject({
        method: 'GET',
        url: URL,
        headers: { authorization: `Bearer ${tokenOf('tenant-0', `user-${user}`)}` },
      });
      codes.push(response.statusCode);
      if (response.statusCode === 429) {
        expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
        expect(response.json()).toEqual({ error: { code: 'RATE_LIMITED', message: expect.stringMatching(/tenant/) } });
      }
    }
    expect(codes).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    const other = await app.inject({ method: 'GET', url: URL, headers: { authorization: `Bearer ${tokenOf('tenant-1')}` } });
    expect(other.statusCode).toBe(200);
  });

  it('a request refused by the per-user limit does not use up the tenant budget', async () => {
    const app = await appWith({ rateLimitPerMinute: 2, rateLimitPerTenantPerMinute: 4 });
    const greedy = `Bearer ${tokenOf('tenant-0', 'greedy')}`;
    for (let i = 0; i < 10; i += 1) await app.inject({ method: 'GET', url: URL, headers: { authorization: greedy } });
    const polite = await app.inject({ method: 'GET', url: URL, headers: { authorization: `Bearer ${tokenOf('tenant-0', 'polite')}` } });
    expect(polite.statusCode).toBe(200);
  });

  it('without TRUST_PROXY, X-Forwarded-For does not give an unauthenticated client a fresh budget', async () => {
    const app = await appWith({ rateLimitPerMinute: 2 });
    const codes: number[] = [];
    for (let i = 0; i < 4; i += 1) {
      const response = await app.inject({ method: 'GET', url: URL, headers: { 'x-forwarded-for': `10.0.0.${i}` } });
      codes.push(response.statusCode);
    }
    expect(codes).toEqual([401, 401, 429, 429]);
    // Bad tokens count against the address too.
    const bad = await app.inject({ method: 'GET', url: URL, headers: { authorization: 'Bearer not.a.token' } });
    expect(bad.statusCode).toBe(429);
  });

  it('with TRUST_PROXY naming the proxy, the forwarded address is the client', async () => {
    const app = await appWith({ rateLimitPerMinute: 1, trustProxy: ['127.0.0.1'] });
    const ask = (address: string) => app.inject({ method: 'GET', url: URL, headers: { 'x-forwarded-for': address } });
    expect([(await ask('10.0.0.1')).statusCode, (await ask('10.0.0.1')).statusCode, (await ask('10.0.0.2')).statusCode]).toEqual([
      401, 429, 401,
    ]);
  });

  it('TRUST_PROXY, the per-tenant limit and the shutdown deadline are read from the environment, a wrong value named', () => {
    const base = { DATA_DIR: '/tmp/x' };
    expect(loadConfig(base).api).toMatchObject({ trustProxy: false, rateLimitPerTenantPerMinute: 3000, shutdownGraceMs: 10_000 });
    expect(loadConfig({ ...base, API_RATE_LIMIT_PER_MINUTE: '100' }).api.rateLimitPerTenantPerMinute).toBe(500);
    expect(loadConfig({ ...base, TRUST_PROXY: 'false' }).api.trustProxy).toBe(false);
    expect(loadConfig({ ...base, TRUST_PROXY: 'true' }).api.trustProxy).toBe(true);
    expect(loadConfig({ ...base, TRUST_PROXY: '10.0.0.0/8, 192.168.1.7,::1' }).api.trustProxy).toEqual([
      '10.0.0.0/8',
      '192.168.1.7',
      '::1',
    ]);
    expect(loadConfig({ ...base, API_RATE_LIMIT_PER_TENANT_PER_MINUTE: '50' }).api.rateLimitPerTenantPerMinute).toBe(50);
    expect(loadConfig({ ...base, SHUTDOWN_GRACE_MS: '0' }).api.shutdownGraceMs).toBe(0);
    const wrong: [Record<string, string>, RegExp][] = [
      [{ TRUST_PROXY: 'yes' }, /^TRUST_PROXY="yes" .*expected/],
      [{ TRUST_PROXY: '2' }, /^TRUST_PROXY="2" is a hop count/],
      [{ TRUST_PROXY: '10.0.0.0/33' }, /^TRUST_PROXY=.*10\.0\.0\.0\/33/],
      [{ TRUST_PROXY: '' }, /^TRUST_PROXY=/],
      [{ API_RATE_LIMIT_PER_TENANT_PER_MINUTE: 'lots' }, /^API_RATE_LIMIT_PER_TENANT_PER_MINUTE=/],
      [{ SHUTDOWN_GRACE_MS: '-1' }, /^SHUTDOWN_GRACE_MS=/],
    ];
    for (const [env, message] of wrong) {
      expect(() => loadConfig({ ...base, ...env })).toThrow(ConfigError);
      expect(() => loadConfig({ ...base, ...env })).toThrow(message);
    }
  });
});
