import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseHandle } from '../../services/platform/clickhouse.js';
import { createLogger } from '../../services/platform/logger.js';
import { applyMigrations } from '../../services/migrations/migrate.js';
import { rebuildRollups, verifyRollups } from '../../services/operations/rollups.js';
import { queryOutreach, type OutreachCounts } from '../../services/reporting/index.js';
import { generateEvents, insertAssignments, insertDeliveries, type GeneratedDelivery } from '../../fixtures/metric-scenarios.js';
import { openTestClickHouse } from '../support/clickhouse.js';

const START = Date.parse('2026-03-01T00:00:00.000Z');
const END = Date.parse('2026-04-10T00:00:00.000Z');

let handle: ClickHouseHandle;
let deliveries: GeneratedDelivery[];

beforeAll(async () => {
  ({ handle } = await openTestClickHouse('operations-rollups'));
  await applyMigrations(handle.client, createLogger('silent'));
  const generated = generateEvents({
    seed: 4,
    tenants: ['t-a', 't-b'],
    startMs: START,
    endMs: END,
    assignments: 5000,
    deliveries: 15000,
    renameAtMs: START + 86_400_000,
  });
  deliveries = generated.deliveries;
  await insertAssignments(handle.client, generated.assignments);
  await insertDeliveries(handle.client, deliveries);
});

afterAll(async () => {
  await handle?.close();
});

describe('verify and rebuild-rollups', () => {
  it('finds a row deleted from a rollup by hand, naming table, bucket and key; a rebuild makes it pass; readers see the old or the new answer', async () => {
    const clean = await verifyRollups(handle.client, START, END);
    expect(clean.differences).toEqual([]);
    expect(clean.compared.delivery_counts_15m).toBeGreaterThan(1000);

    const victim = deliveries.find((d) => d.tenantId === 't-a' && d.atMs > Date.parse('2026-03-20T00:00:00Z'))!;
    const bucket = Math.floor(victim.atMs / 900_000) * 900_000;
    // Hours around the bucket, so that it is read from the 15-minute rollup (not a whole day).
    const range = { tenantId: 't-a', fromMs: bucket - 3 * 3_600_000 + 7 * 60_000, toMs: bucket + 3 * 3_600_000 + 1 };
    const exact = await queryOutreach(handle.client, range);
    // Values inlined (test data, not input): a mutation's WHERE as an operator would type it.
    await handle.client.command({
      query: `ALTER TABLE delivery_counts_15m DELETE WHERE tenant_id = 't-a' AND bucket = toDateTime(${bucket / 1000}, 'UTC') AND channel = '${victim.channel}' AND status = '${victim.status}'`,
      clickhouse_settings: { mutations_sync: '2' },
    });
    const polluted = await queryOutreach(handle.client, range);
    expect(polluted).not.toEqual(exact);

    const broken = await verifyRollups(handle.client, START, END);
    expect(broken.differences.length).toBeGreaterThan(0);
    expect(broken.differences[0]).toMatchObject({
      table: 'delivery_counts_15m',
      bucket: new Date(bucket).toISOString().replace('.000Z', 'Z'),
      key: { tenant_id: 't-a', channel: victim.channel, status: victim.status },
    });
    expect(broken.differences[0]!.values.events![0]).toBe(0);
    expect(broken.differences[0]!.values.events![1]).toBeGreaterThan(0);

    // A rollup row in a month without any raw row: pollution the rebuild removes too.
    await handle.client.insert({
      table: 'delivery_counts_15m',
      values: [
        { tenant_id: 't-a', bucket: '2026-05-02 10:00:00', channel: 'email', status: 'sent', playbook_id: '', campaign_id: '', events: 7 },
      ],
      format: 'JSONEachRow',
    });
    expect(
      (await verifyRollups(handle.client, Date.parse('2026-05-01T00:00:00Z'), Date.parse('2026-06-01T00:00:00Z'))).differences,
    ).toHaveLength(1);

    const answers: OutreachCounts[] = [];
    let rebuilding = true;
    const readers = (async () => {
      while (rebuilding) answers.push(await queryOutreach(handle.client, range));
    })();
    const report = await rebuildRollups(handle.client, START, Date.parse('2026-06-01T00:00:00Z'));
    rebuilding = false;
    await readers;
    expect(report.months).toEqual(['202603', '202604', '202605']);
    expect(answers.length).toBeGreaterThan(0);
    for (const answer of answers) expect([exact, polluted]).toContainEqual(answer);

    expect(await queryOutreach(handle.client, range)).toEqual(exact);
    const after = await verifyRollups(handle.client, START, Date.parse('2026-06-01T00:00:00Z'));
    expect(after.differences).toEqual([]);
    expect(after.more).toBe(0);
  });
});
