import { describe, expect, it } from 'vitest';
import { createLogger } from '../../services/platform/logger.js';
import { loadConfig } from '../../services/platform/config.js';
import { createKafka } from '../../services/platform/kafka.js';
import { applyMigrations } from '../../services/migrations/migrate.js';
import { generateEvents, insertDeliveries } from '../../fixtures/metric-scenarios.js';
import { openTestClickHouse } from '../support/clickhouse.js';
import { runCli } from '../support/cli.js';
import { waitFor } from '../support/wait-for.js';

/** `verify` and `rebuild-rollups` as an operator runs them (the embedded engine's data directory, the service stopped). */

const START = Date.parse('2026-03-01T00:00:00.000Z');

describe('verify and rebuild-rollups on the command line', () => {
  it('verify exits 1 naming the difference, rebuild-rollups refuses while the ingest runs and repairs once it is stopped, verify then exits 0', async () => {
    const opened = await openTestClickHouse('operations-cli');
    await applyMigrations(opened.handle.client, createLogger('silent'));
    const { deliveries: rows } = generateEvents({
      seed: 5,
      tenants: ['t-c'],
      startMs: START,
      endMs: START + 5 * 86_400_000,
      assignments: 100,
      deliveries: 2000,
      renameAtMs: START,
    });
    await insertDeliveries(opened.handle.client, rows);
    await opened.handle.client.command({
      query: `ALTER TABLE delivery_counts_1d DELETE WHERE tenant_id = 't-c' AND bucket = toDateTime('2026-03-02 00:00:00', 'UTC') AND channel = 'sms'`,
      clickhouse_settings: { mutations_sync: '2' },
    });
    await opened.handle.close();
    const stamp = Date.now();
    const env = { DATA_DIR: opened.dataDir, INGEST_GROUP_ID: `operations-cli-${stamp}`, LOG_LEVEL: 'warn' };
    const span = ['--from', '2026-03-01T00:00:00Z', '--to', '2026-03-06T00:00:00Z'];

    const broken = await runCli(['verify', ...span], env);
    expect(broken.code, broken.stderr).toBe(1);
    expect(broken.stdout).toMatch(
      /delivery_counts_1d bucket 2026-03-02T00:00:00Z tenant_id="t-c" channel="sms" status="\w+" .* events: rollup 0, raw \d+/,
    );

    // A running ingest member: refused, nothing changed.
    const kafka = createKafka(loadConfig({ ...process.env, ...env }), createLogger('silent'), 'operations-cli-member');
    const member = kafka.consumer({ groupId: env.INGEST_GROUP_ID });
    await member.connect();
    await member.subscribe({ topics: [`operations-cli-${stamp}`] }).catch(() => undefined);
    await member.run({ eachMessage: async () => undefined });
    await waitFor('the stand-in ingest member to join', async () => {
      const admin = kafka.admin();
      await admin.connect();
      const { groups } = await admin.describeGroups([env.INGEST_GROUP_ID]);
      await admin.disconnect();
      return (groups[0]?.members.length ?? 0) > 0;
    });
    const refused = await runCli(['rebuild-rollups', ...span], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^rebuild-rollups refused: the ingest group operations-cli-\d+ has 1 running member; stop the ingest first/,
    );
    await member.disconnect();

    const rebuilt = await runCli(['rebuild-rollups', ...span], env);
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    expect(rebuilt.stdout).toMatch(/^rebuilt months 202603: /);
    const fixed = await runCli(['verify', ...span], env);
    expect(fixed.code, fixed.stdout).toBe(0);
    expect(fixed.stdout).toContain('verify: every rollup equals the raw events');

    const bad = await runCli(['verify', '--from', '2026-03-01'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--from "2026-03-01" /);
    const missing = await runCli(['rebuild-rollups', '--from', '2026-03-01T00:00:00Z'], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--to is required/);
  });
});
