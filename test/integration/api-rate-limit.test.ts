import net from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
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
    // Two tokens of the same identity signed a second apart (different iat and bytes): the first
    // signed on a clock set a second back.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() - 1_000 });
    const first = tokenOf('tenant-0', 'alice');
    vi.useRealTimers();
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

  /** Sends raw HTTP/1.1 requests (one per target, over one connection each) and returns their status codes. */
  async function rawStatuses(port: number, targets: string[], headers: Record<string, string> = {}): Promise<number[]> {
    const codes: number[] = [];
    for (const target of targets) {
      codes.push(
        await new Promise<number>((resolve, reject) => {
          const socket = net.connect(port, '127.0.0.1');
          let text = '';
          socket.setEncoding('latin1');
          socket.on('data', (chunk: string) => (text += chunk));
          socket.on('error', reject);
          socket.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)));
          const extra = Object.entries(headers)
            .map(([name, value]) => `${name}: ${value}\r\n`)
            .join('');
          socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${extra}Connection: close\r\n\r\n`);
        }),
      );
    }
    return codes;
  }

  it('absolute-form and odd request targets count against the same budget as the plain path', async () => {
    const app = await appWith({ rateLimitPerMinute: 3 });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as net.AddressInfo).port;
    const authorization = `Bearer ${tokenOf('tenant-odd', 'mallory')}`;
    const absolute = `http://127.0.0.1:${port}/v1/alerts/rules`;
    const codes = await rawStatuses(port, [absolute, absolute, absolute, absolute, absolute], { authorization });
    expect(codes.slice(0, 3).every((code) => code !== 429)).toBe(true);
    expect(codes.slice(3)).toEqual([429, 429]);
    // Other spellings of a target: limited too (whatever they route to), never a fresh budget.
    const odd = await rawStatuses(
      port,
      ['//v1/alerts/rules', '/v1/../v1/alerts/rules', '/V1/alerts/rules', '/v1/alerts/rules?' + 'x'.repeat(4000)],
      {
        authorization,
      },
    );
    expect(odd).toEqual([429, 429, 429, 429]);
    // Probes are never limited.
    expect(await rawStatuses(port, ['/healthz', `http://127.0.0.1:${port}/healthz`], { authorization })).toEqual([200, 200]);
  });

  it('API_REPLICAS splits each budget between the replicas (ceil(limit / replicas) each)', async () => {
    const app = await appWith({ rateLimitPerMinute: 5, rateLimitPerTenantPerMinute: 7, replicas: 2 });
    const ask = (user: string) =>
      app.inject({ method: 'GET', url: URL, headers: { authorization: `Bearer ${tokenOf('tenant-split', user)}` } });
    const codes: number[] = [];
    for (let i = 0; i < 4; i += 1) codes.push((await ask('alice')).statusCode);
    expect(codes).toEqual([200, 200, 200, 429]);
    const refused = await ask('alice');
    expect(refused.json().error.message).toMatch(/5 requests per minute .*3 on each of 2 API replicas/);
    // The tenant's share: ceil(7 / 2) = 4, of which alice used 3.
    expect([(await ask('bob')).statusCode, (await ask('carol')).statusCode]).toEqual([200, 429]);
    expect(loadConfig({ DATA_DIR: '/tmp/x' }).api.replicas).toBe(1);
    expect(loadConfig({ DATA_DIR: '/tmp/x', API_REPLICAS: '4' }).api.replicas).toBe(4);
    expect(() => loadConfig({ DATA_DIR: '/tmp/x', API_REPLICAS: '0' })).toThrow(/^API_REPLICAS="0" is out of range/);
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
