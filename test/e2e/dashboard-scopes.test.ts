import type { FastifyInstance } from 'fastify';
import { type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../../services/api/auth/tokens.js';
import type { Scope } from '../../services/api/auth/scopes.js';
import type { ClickHouseHandle } from '../../services/platform/clickhouse.js';
import { createLogger } from '../../services/platform/logger.js';
import { applyMigrations } from '../../services/migrations/migrate.js';
import { launchChromium } from '../support/browser.js';
import { buildTestApp, TEST_SECRET } from '../support/api.js';
import { openTestClickHouse } from '../support/clickhouse.js';

/** The page shows the alert rules read-only to a token without alerts:write (it reads the token's scopes, unverified). */
describe('the page and the alerts:write scope', () => {
  let clickhouse: ClickHouseHandle;
  let app: FastifyInstance;
  let browser: Browser;
  let url: string;
  const token = (scopes: readonly Scope[]) => signToken(TEST_SECRET, { tenantId: 'acme', userId: 'e2e', scopes }, 3_600_000);

  beforeAll(async () => {
    const logger = createLogger('silent');
    const opened = await openTestClickHouse('dashboard-scopes');
    clickhouse = opened.handle;
    await applyMigrations(clickhouse.client, logger);
    app = await buildTestApp(opened.config, clickhouse.client, {}, logger);
    url = await app.listen({ port: 0, host: '127.0.0.1' });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await clickhouse?.close();
  });

  async function access(jwt: string): Promise<{ editable: string | null; note: string | null }> {
    const page = await browser.newPage();
    try {
      await page.goto(`${url}/#token=${jwt}`);
      await page.waitForSelector('body[data-loaded]');
      return {
        editable: await page.locator('#alerts').getAttribute('data-editable'),
        note: await page.locator('#alerts-access').textContent(),
      };
    } finally {
      await page.close();
    }
  }

  it('a metrics:read token sees the rules read-only; a token with alerts:write may change them', async () => {
    const reader = await access(token(['metrics:read']));
    expect(reader.editable).toBe('false');
    expect(reader.note).toBe('Read-only: your token does not carry the alerts:write scope, so it cannot change the alert rules.');
    const admin = await access(token(['metrics:read', 'alerts:write']));
    expect(admin.editable).toBe('true');
    expect(admin.note).toMatch(/^Your token may change the alert rules \(alerts:write\)/);
  });
});
