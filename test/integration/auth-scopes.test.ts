import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { createSigner } from 'fast-jwt';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, revokeApiKey } from '../../services/api/auth/api-keys.js';
import { TOKEN_ISSUER } from '../../services/api/auth/tokens.js';
import { topicNames } from '../../services/events/topics.js';
import { applyMigrations } from '../../services/migrations/migrate.js';
import type { ClickHouseHandle } from '../../services/platform/clickhouse.js';
import { ConfigError, loadConfig, type Config } from '../../services/platform/config.js';
import { createKafka } from '../../services/platform/kafka.js';
import { createLogger } from '../../services/platform/logger.js';
import { createConnectingPublisher, type ConnectingPublisher } from '../../services/producer/connecting-publisher.js';
import { bearer, buildTestApp, TEST_SECRET } from '../support/api.js';
import { openTestClickHouse } from '../support/clickhouse.js';
import { deleteTopics } from '../support/kafka.js';
import { waitFor } from '../support/wait-for.js';

/**
 * Who may do what: scopes on every route, an identity provider's tokens verified against its JWKS
 * (a key pair made here, served by node:http on loopback), and producers' API keys.
 */

const logger = createLogger(process.env.LOG_LEVEL ?? 'silent');
const ISSUER = 'https://idp.example.test/oauth2/default';
const AUDIENCE = 'sending-metrics';
const TENANT_CLAIM = 'https://example.test/tenant';
/** Between two fetches of the key set: short, so that a rotation is seen in the test's time. */
const COOLDOWN_MS = 300;
const REFRESH_MS = 300;
const RANGE = 'from=2026-11-01T00:00:00.000Z&to=2026-11-30T23:59:59.999Z';

interface ProviderKey {
  kid: string;
  alg: 'RS256' | 'ES256' | 'EdDSA';
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK;
}

async function providerKey(kid: string, alg: ProviderKey['alg']): Promise<ProviderKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, publicKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** The identity provider's key set, served on loopback; `keys` is what it publishes now. */
let published: ProviderKey[] = [];
let fetches = 0;
const jwksServer = http.createServer((request, response) => {
  if (request.url !== '/keys') {
    response.writeHead(404).end();
    return;
  }
  fetches += 1;
  response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: published.map((key) => key.jwk) }));
});

interface Claims {
  [claim: string]: unknown;
}

/** A provider token: the issuer, audience and tenant claim the service expects unless `claims` or `options` say otherwise. */
async function providerToken(
  key: ProviderKey,
  claims: Claims = {},
  options: { issuer?: string; audience?: string; expiresAt?: number; kid?: string } = {},
): Promise<string> {
  return new SignJWT({ [TENANT_CLAIM]: 'acme', ...claims })
    .setProtectedHeader({ alg: key.alg, kid: options.kid ?? key.kid, typ: 'JWT' })
    .setIssuer(options.issuer ?? ISSUER)
    .setAudience(options.audience ?? AUDIENCE)
    .setSubject('user-1@example.test')
    .setIssuedAt()
    .setExpirationTime(options.expiresAt ?? Math.floor(Date.now() / 1000) + 600)
    .sign(key.privateKey);
}

const auth = (token: string) => ({ authorization: `Bearer ${token}` });
const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

let clickhouse: ClickHouseHandle;
let config: Config;
let app: FastifyInstance;
let publisher: ConnectingPublisher;
let topics: string[];
let rsa: ProviderKey;
let ec: ProviderKey;
let ed: ProviderKey;

function event(i: number) {
  return {
    type: 'assignment',
    eventId: `auth-scopes-${Date.now()}-${i}`,
    occurredAt: '2026-11-05T10:00:00.000Z',
    customerId: `c-${i}`,
    playbookId: 'pb-1',
    campaignId: 'cm-1',
    action: 'entered',
  };
}

const postEvents = (headers: Record<string, string>) =>
  app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: { ...headers, 'content-type': 'application/json' },
    payload: JSON.stringify(event(1)),
  });
const putRules = (headers: Record<string, string>) =>
  app.inject({
    method: 'PUT',
    url: '/v1/alerts/rules',
    headers: { ...headers, 'content-type': 'application/json' },
    payload: { rules: [] },
  });
const readOutreach = (headers: Record<string, string>) => app.inject({ method: 'GET', url: `/v1/metrics/outreach?${RANGE}`, headers });

beforeAll(async () => {
  [rsa, ec, ed] = await Promise.all([providerKey('rsa-1', 'RS256'), providerKey('ec-1', 'ES256'), providerKey('ed-1', 'EdDSA')]);
  published = [rsa, ec, ed];
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  const { port } = jwksServer.address() as AddressInfo;
  const opened = await openTestClickHouse('auth-scopes');
  clickhouse = opened.handle;
  await applyMigrations(clickhouse.client, logger);
  const prefix = `auth-scopes-${Date.now()}.`;
  config = {
    ...opened.config,
    topicPrefix: prefix,
    auth: {
      jwksUrl: new URL(`http://127.0.0.1:${port}/keys`),
      issuer: ISSUER,
      audience: [AUDIENCE],
      tenantClaim: TENANT_CLAIM,
      apiKeysRefreshMs: REFRESH_MS,
    },
  };
  const names = topicNames(prefix);
  topics = [names.assignments, names.deliveries];
  publisher = createConnectingPublisher({
    kafka: createKafka(config, logger, 'auth-scopes'),
    topics: names,
    partitions: config.topicPartitions,
    logger,
  });
  app = await buildTestApp(config, clickhouse.client, {}, logger, { publisher, jwks: { cooldownMs: COOLDOWN_MS } });
});

afterAll(async () => {
  await app?.close();
  await publisher?.close();
  if (config) await deleteTopics(createKafka(config, logger, 'auth-scopes-cleanup'), topics).catch(() => undefined);
  await clickhouse?.close();
  await new Promise((resolve) => jwksServer.close(resolve));
});

describe('scopes', () => {
  it('a metrics:read token reads, and gets 403 naming the missing scope on POST /v1/events and PUT /v1/alerts/rules', async () => {
    const reader = bearer('acme', 3_600_000, TEST_SECRET, ['metrics:read']);
    expect((await readOutreach(reader)).statusCode).toBe(200);
    for (const [response, scope] of [
      [await postEvents(reader), 'events:write'],
      [await putRules(reader), 'alerts:write'],
    ] as const) {
      expect(response.statusCode).toBe(403);
      expect(response.json()).toEqual({
        error: {
          code: 'FORBIDDEN',
          message: `this request needs the scope ${scope}, which the token does not carry (it carries: metrics:read)`,
        },
      });
      expect(response.headers['www-authenticate']).toBe(`Bearer error="insufficient_scope" scope="${scope}"`);
    }
  });

  it('events:write and alerts:write each open their route; a token without metrics:read cannot read', async () => {
    const writer = bearer('acme', 3_600_000, TEST_SECRET, ['events:write', 'alerts:write']);
    expect((await postEvents(writer)).statusCode).toBe(202);
    expect((await putRules(writer)).statusCode).toBe(200);
    const read = await readOutreach(writer);
    expect(read.statusCode).toBe(403);
    expect(read.json().error.message).toContain('metrics:read');
    // The 403 comes before the body is read: a body that is not JSON at all changes nothing.
    const garbage = await app.inject({
      method: 'PUT',
      url: '/v1/alerts/rules',
      headers: { ...bearer('acme', 3_600_000, TEST_SECRET, ['metrics:read']), 'content-type': 'application/json' },
      payload: '{not json',
    });
    expect(garbage.statusCode).toBe(403);
  });

  it('a token with no scope claim at all (issued before scopes) reads but cannot write', async () => {
    const sign = createSigner({ key: TEST_SECRET, algorithm: 'HS256', expiresIn: 600_000, iss: TOKEN_ISSUER });
    const old = auth(sign({ tenant: 'acme', sub: 'old' }));
    expect((await readOutreach(old)).statusCode).toBe(200);
    expect((await postEvents(old)).statusCode).toBe(403);
    expect((await putRules(old)).statusCode).toBe(403);
  });

  it("the OpenAPI document lists each route's scope as its security requirement", async () => {
    const document = (await app.inject({ method: 'GET', url: '/docs/json' })).json() as {
      paths: Record<string, Record<string, { security?: Record<string, string[]>[]; responses?: Record<string, unknown> }>>;
    };
    const scopes: Record<string, string> = {};
    for (const [path, operations] of Object.entries(document.paths)) {
      if (!path.startsWith('/v1/') || path.startsWith('/v1/webhooks/')) continue;
      for (const [method, operation] of Object.entries(operations)) {
        expect(operation.security, `${method} ${path}`).toHaveLength(1);
        const [scope, ...more] = operation.security![0]!.bearer!;
        expect(more).toEqual([]);
        expect(operation.responses?.['403'], `${method} ${path} documents its 403`).toBeDefined();
        scopes[`${method.toUpperCase()} ${path}`] = scope!;
      }
    }
    expect(scopes['POST /v1/events']).toBe('events:write');
    expect(scopes['PUT /v1/alerts/rules']).toBe('alerts:write');
    expect(scopes['POST /v1/downloads']).toBe('metrics:read');
    expect(scopes['POST /v1/privacy/erasures']).toBe('privacy:write');
    expect(scopes['GET /v1/privacy/erasures/{id}']).toBe('privacy:write');
    const others = Object.entries(scopes).filter(
      ([route]) => route !== 'POST /v1/events' && route !== 'PUT /v1/alerts/rules' && !route.includes(' /v1/privacy/'),
    );
    expect(others.length).toBeGreaterThanOrEqual(15);
    for (const [route, scope] of others) expect(scope, route).toBe('metrics:read');
  });
});

describe('identity-provider tokens (JWKS)', () => {
  it('accepts RS256, ES256 and EdDSA tokens of the provider, the tenant from the configured claim', async () => {
    for (const key of [rsa, ec, ed]) {
      const response = await readOutreach(auth(await providerToken(key, { scope: 'openid metrics:read' })));
      expect(response.statusCode, key.alg).toBe(200);
    }
    // scp as an array (Okta, Entra ID) opens the write route.
    const producer = await providerToken(rsa, { scp: ['events:write'] });
    expect((await postEvents(auth(producer))).statusCode).toBe(202);
    expect((await putRules(auth(producer))).statusCode).toBe(403);
  });

  it('refuses with 401 a wrong issuer, audience, kid or algorithm, an expired token, a forged signature and a missing tenant', async () => {
    const refusals: [string, string, RegExp][] = [
      ['wrong issuer', await providerToken(rsa, {}, { issuer: 'https://evil.example.test/' }), /issuer \(iss\)/],
      ['wrong audience', await providerToken(rsa, {}, { audience: 'another-service' }), /audience \(aud\)/],
      ['unknown kid', await providerToken(rsa, {}, { kid: 'nobody-has-this-kid' }), /key \(kid\)/],
      ['expired', await providerToken(ec, {}, { expiresAt: Math.floor(Date.now() / 1000) - 3600 }), /expired/],
      ['no tenant', await providerToken(ed, { [TENANT_CLAIM]: undefined }), /names no tenant/],
    ];
    // Signed by a key the provider does not publish, under the kid of one it does.
    const stranger = await providerKey(rsa.kid, 'RS256');
    refusals.push(['forged signature', await providerToken(stranger), /signature is not valid/]);
    // HS256 "signed" with the provider's public key (algorithm confusion): the HS256 path has its own secret.
    const pem = await exportSPKI(rsa.publicKey);
    const confused = await new SignJWT({ [TENANT_CLAIM]: 'acme', tenant: 'acme', scope: 'metrics:read' })
      .setProtectedHeader({ alg: 'HS256', kid: rsa.kid })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode(pem));
    refusals.push(['HS256 with the public key', confused, /signature is not valid|issuer/]);
    const unsigned = `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ iss: ISSUER, aud: AUDIENCE, [TENANT_CLAIM]: 'acme', tenant: 'acme', exp: Math.floor(Date.now() / 1000) + 600 })}.`;
    refusals.push(['alg none', unsigned, /algorithm is not allowed/]);
    const hs512 = `${base64url({ alg: 'HS512' })}.${base64url({ tenant: 'acme' })}.c2ln`;
    refusals.push(['alg HS512', hs512, /algorithm is not allowed/]);
    for (const [what, token, message] of refusals) {
      const response = await readOutreach(auth(token));
      expect(response.statusCode, what).toBe(401);
      expect(response.json().error.code, what).toBe('UNAUTHORIZED');
      expect(response.json().error.message, what).toMatch(message);
      expect(response.json().error.message, what).not.toContain(token.slice(0, 20));
      expect(response.headers['www-authenticate'], what).toBe('Bearer error="invalid_token"');
    }
  });

  it('picks up a rotation without a restart (a new kid) and refuses the rotated-away key', async () => {
    const rotated = await providerKey('rsa-2', 'RS256');
    const before = await providerToken(rsa);
    expect((await readOutreach(auth(before))).statusCode).toBe(200);
    published = [rotated, ec, ed];
    const after = await providerToken(rotated);
    // The new kid is fetched once the cooldown since the last fetch has passed.
    await waitFor('the rotated key set to be fetched', async () => (await readOutreach(auth(after))).statusCode === 200, 20_000, 50);
    expect((await readOutreach(auth(after))).statusCode).toBe(200);
    const old = await readOutreach(auth(before));
    expect(old.statusCode).toBe(401);
    expect(old.json().error.message).toMatch(/key \(kid\)/);
  });

  it('tokens with unknown kids do not fetch the key set again within the cooldown (rate limited)', async () => {
    const patient = await buildTestApp(config, clickhouse.client, {}, logger, { jwks: { cooldownMs: 600_000 } });
    try {
      const read = async (token: string) =>
        (await patient.inject({ method: 'GET', url: `/v1/metrics/outreach?${RANGE}`, headers: auth(token) })).statusCode;
      const before = fetches;
      expect(await read(await providerToken(ec))).toBe(200);
      expect(fetches).toBe(before + 1);
      const unknown = await Promise.all(Array.from({ length: 20 }, (_, i) => providerToken(ec, {}, { kid: `unknown-${i}` })));
      const statuses = await Promise.all(unknown.map(read));
      expect(statuses).toEqual(unknown.map(() => 401));
      expect(fetches).toBe(before + 1);
    } finally {
      await patient.close();
    }
  });

  it('answers 503 (not 401) when the key set cannot be fetched', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const offline = await buildTestApp(
      { ...config, auth: { ...config.auth, jwksUrl: new URL(`http://127.0.0.1:${port}/keys`) } },
      clickhouse.client,
      {},
      logger,
    );
    try {
      const response = await offline.inject({
        method: 'GET',
        url: `/v1/metrics/outreach?${RANGE}`,
        headers: auth(await providerToken(rsa)),
      });
      expect(response.statusCode).toBe(503);
      expect(response.json().error.code).toBe('UNAVAILABLE');
      expect(response.headers['retry-after']).toBe('5');
    } finally {
      await offline.close();
    }
  });

  it('AUTH_JWKS_URL needs AUTH_ISSUER, and plain http only on loopback', () => {
    expect(() => loadConfig({ AUTH_JWKS_URL: 'https://idp.example.test/keys' })).toThrow(ConfigError);
    expect(() => loadConfig({ AUTH_JWKS_URL: 'https://idp.example.test/keys' })).toThrow(/AUTH_ISSUER.*required with AUTH_JWKS_URL/);
    expect(() => loadConfig({ AUTH_JWKS_URL: 'http://idp.example.test/keys', AUTH_ISSUER: ISSUER })).toThrow(/plain http/);
    const loaded = loadConfig({ AUTH_JWKS_URL: 'https://idp.example.test/keys', AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: 'a, b' });
    expect(loaded.auth).toMatchObject({ issuer: ISSUER, audience: ['a', 'b'], tenantClaim: 'tenant', apiKeysRefreshMs: 10_000 });
  });
});

describe("producers' API keys", () => {
  it('publishes events (202) and gets 403 on every read route of the OpenAPI document and on the alert rules', async () => {
    const { key } = await createApiKey(clickhouse.client, 'acme', 'shop backend');
    expect((await postEvents(auth(key))).statusCode).toBe(202);
    const document = (await app.inject({ method: 'GET', url: '/docs/json' })).json() as { paths: Record<string, Record<string, unknown>> };
    const reads = Object.entries(document.paths)
      .filter(([path, operations]) => path.startsWith('/v1/') && 'get' in operations)
      .map(([path]) => path.replace(/\{[^}]+\}/g, 'x'));
    expect(reads.length).toBeGreaterThanOrEqual(12);
    for (const path of reads) {
      const response = await app.inject({ method: 'GET', url: `${path}?${RANGE}`, headers: auth(key) });
      expect(response.statusCode, path).toBe(403);
      expect(response.json().error.message, path).toContain(path.startsWith('/v1/privacy/') ? 'privacy:write' : 'metrics:read');
    }
    expect((await putRules(auth(key))).statusCode).toBe(403);
    const queue = await app.inject({
      method: 'POST',
      url: '/v1/downloads',
      headers: { ...auth(key), 'content-type': 'application/json' },
      payload: { export: 'campaigns', from: '2026-11-01T00:00:00.000Z', to: '2026-11-02T00:00:00.000Z' },
    });
    expect(queue.statusCode).toBe(403);
  });

  it('refuses a wrong secret and an unknown key with 401, the same words for both', async () => {
    const { key } = await createApiKey(clickhouse.client, 'acme', 'second');
    const wrongSecret = `${key.slice(0, -4)}AAAA`;
    const unknownId = `smk_0123456789abcdef_${key.slice(-43)}`;
    for (const token of [wrongSecret, unknownId, 'smk_not-a-key']) {
      const response = await postEvents(auth(token));
      expect(response.statusCode, token).toBe(401);
      expect(response.json().error.message).not.toContain(token);
    }
    expect((await postEvents(auth(wrongSecret))).json().error.message).toBe((await postEvents(auth(unknownId))).json().error.message);
  });

  it('a revoked key is refused (401) by the replica within the refresh interval', async () => {
    const { key, info } = await createApiKey(clickhouse.client, 'acme', 'to revoke');
    expect((await postEvents(auth(key))).statusCode).toBe(202);
    await revokeApiKey(clickhouse.client, info.keyId);
    const refused = await waitFor(
      'the revocation to reach the replica',
      async () => {
        const response = await postEvents(auth(key));
        return response.statusCode === 401 ? response : undefined;
      },
      20_000,
      50,
    );
    expect(refused.json().error.message).toBe('the API key has been revoked');
  });
});
