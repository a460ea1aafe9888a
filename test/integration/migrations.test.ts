import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestClickHouse } from '../support/clickhouse.js';
import type { ClickHouseClient, ClickHouseHandle } from '../../services/platform/clickhouse.js';
import { createLogger } from '../../services/platform/logger.js';
import {
  applyMigrations,
  MIGRATIONS_DIRECTORY,
  MigrationError,
  readMigrations,
  splitStatements,
} from '../../services/migrations/migrate.js';

const logger = createLogger('silent');
let handle: ClickHouseHandle;
let client: ClickHouseClient;

beforeAll(async () => {
  ({ handle } = await openTestClickHouse('migrate'));
  client = handle.client;
});

afterAll(async () => {
  await handle?.close();
});

async function scalar(query: string, query_params?: Record<string, unknown>): Promise<number> {
  const result = await client.query({ query, query_params, format: 'JSONEachRow' });
  const rows = await result.json<{ value: string | number }>();
  return Number(rows[0]?.value ?? 0);
}

/** Everything one tenant has in the raw tables, the rollups and the event-id log. */
async function counts(tenant: string) {
  const params = { tenant };
  return {
    assignments: await scalar('SELECT count() AS value FROM assignment_events WHERE tenant_id = {tenant:String}', params),
    assignmentRollup: await scalar(
      'SELECT sum(entries + exits) AS value FROM assignment_counts_15m WHERE tenant_id = {tenant:String}',
      params,
    ),
    assignmentDaily: await scalar(
      'SELECT sum(entries + exits) AS value FROM assignment_counts_1d WHERE tenant_id = {tenant:String}',
      params,
    ),
    deliveries: await scalar('SELECT count() AS value FROM delivery_events WHERE tenant_id = {tenant:String}', params),
    deliveryRollup: await scalar('SELECT sum(events) AS value FROM delivery_counts_15m WHERE tenant_id = {tenant:String}', params),
    deliveryDaily: await scalar('SELECT sum(events) AS value FROM delivery_counts_1d WHERE tenant_id = {tenant:String}', params),
    eventIds: await scalar('SELECT count() AS value FROM ingest_event_ids WHERE tenant_id = {tenant:String}', params),
  };
}

function assignmentBlock(tenant: string, offset: number) {
  return [0, 1, 2].map((i) => ({
    tenant_id: tenant,
    occurred_at: `2026-03-0${i + 1} 10:0${i}:00.${String(100 + i)}`,
    event_id: `${tenant}-a-${offset + i}`,
    customer_id: `c-${i}`,
    playbook_id: 'pb-1',
    playbook_name: 'Onboarding',
    campaign_id: `cm-${i % 2}`,
    campaign_name: `Welcome ${i % 2}`,
    action: i === 1 ? 'exited' : 'entered',
    kafka_partition: 0,
    kafka_offset: offset + i,
  }));
}

function deliveryBlock(tenant: string, offset: number) {
  return [0, 1].map((i) => ({
    tenant_id: tenant,
    occurred_at: `2026-03-01 11:1${i}:00.000`,
    event_id: `${tenant}-d-${offset + i}`,
    customer_id: `c-${i}`,
    message_id: `m-${offset + i}`,
    channel: i === 0 ? 'sms' : 'email',
    status: i === 0 ? 'sent' : 'spam_reported',
    playbook_id: i === 0 ? 'pb-1' : '',
    campaign_id: i === 0 ? 'cm-1' : '',
    reason: null,
    kafka_partition: 1,
    kafka_offset: offset + i,
  }));
}

/** How the ingest writes a block: a token per (batch, table) and deduplication down the views. */
async function insertBlock(table: string, values: object[], token: string): Promise<void> {
  await client.insert({
    table,
    values,
    format: 'JSONEachRow',
    clickhouse_settings: { insert_deduplication_token: token, deduplicate_blocks_in_dependent_materialized_views: 1 },
  });
}

describe('splitStatements', () => {
  it('splits at ";" ending a line and drops comment-only pieces', () => {
    const sql =
      "-- header\nCREATE TABLE a (x String DEFAULT ';') ENGINE = Log;\n\n-- b\nCREATE TABLE b (x UInt8) ENGINE = Log;  \n-- trailing\n";
    expect(splitStatements(sql)).toEqual([
      "-- header\nCREATE TABLE a (x String DEFAULT ';') ENGINE = Log",
      '-- b\nCREATE TABLE b (x UInt8) ENGINE = Log',
    ]);
  });

  it('every DDL statement of the schema can run twice: CREATE … IF NOT EXISTS, DROP … IF EXISTS; the rest are backfills (INSERT … SELECT)', async () => {
    let backfills = 0;
    for (const migration of await readMigrations()) {
      for (const statement of migration.statements) {
        const code = statement.replace(/^(?:\s*--[^\n]*\n)*/, '').trim();
        if (/^INSERT INTO \w+/.test(code)) {
          backfills += 1;
          expect(code, migration.name).toMatch(/\bSELECT\b/);
          continue;
        }
        expect(code, `${migration.name}: ${code.slice(0, 80)}`).toMatch(
          /^(CREATE (TABLE|MATERIALIZED VIEW) IF NOT EXISTS|DROP (VIEW|TABLE) IF EXISTS) /,
        );
      }
    }
    expect(backfills).toBe(1); // 011: the ids of the last 25 hours into ingest_event_id_hashes
  });
});

describe('applyMigrations', () => {
  it('applies every file once; a second run applies nothing', async () => {
    const files = fs
      .readdirSync(MIGRATIONS_DIRECTORY)
      .filter((name) => name.endsWith('.sql'))
      .sort();
    const first = await applyMigrations(client, logger);
    expect(first.applied).toEqual(files);
    const second = await applyMigrations(client, logger);
    expect(second.applied).toEqual([]);
    expect(await scalar('SELECT count() AS value FROM schema_migrations')).toBe(files.length);

    const tables = await client.query({
      query: 'SELECT name FROM system.tables WHERE database = currentDatabase() ORDER BY name',
      format: 'JSONEachRow',
    });
    expect((await tables.json<{ name: string }>()).map((row) => row.name)).toEqual(
      expect.arrayContaining([
        'assignment_events',
        'delivery_events',
        'assignment_counts_15m',
        'delivery_counts_15m',
        'assignment_counts_1d',
        'delivery_counts_1d',
        'campaign_names',
        'ingest_event_ids',
        'ingest_batches',
        'downloads',
        'assignment_counts_15m_mv',
        'delivery_counts_15m_mv',
        'assignment_counts_1d_mv',
        'delivery_counts_1d_mv',
        'campaign_names_mv',
        'assignment_event_ids_mv',
        'delivery_event_ids_mv',
      ]),
    );
  });

  it('refuses an applied file whose text changed, naming it', async () => {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-migrations-'));
    for (const name of fs.readdirSync(MIGRATIONS_DIRECTORY)) {
      fs.copyFileSync(path.join(MIGRATIONS_DIRECTORY, name), path.join(directory, name));
    }
    const changed = fs.readdirSync(directory).sort()[1]!;
    fs.appendFileSync(path.join(directory, changed), '\n-- edited after release\n');
    const attempt = applyMigrations(client, logger, { directory });
    await expect(attempt).rejects.toBeInstanceOf(MigrationError);
    await expect(applyMigrations(client, logger, { directory })).rejects.toThrow(changed);
  });
});

describe('retried inserts', () => {
  beforeAll(async () => {
    await applyMigrations(client, logger);
  });

  it('a block inserted twice with one token counts once in the raw table, every rollup and the event-id log', async () => {
    await insertBlock('assignment_events', assignmentBlock('t-retry', 0), 'assignments:p0:0-2');
    await insertBlock('delivery_events', deliveryBlock('t-retry', 0), 'deliveries:p1:0-1');
    const once = await counts('t-retry');
    expect(once).toEqual({
      assignments: 3,
      assignmentRollup: 3,
      assignmentDaily: 3,
      deliveries: 2,
      deliveryRollup: 2,
      deliveryDaily: 2,
      eventIds: 5,
    });

    await insertBlock('assignment_events', assignmentBlock('t-retry', 0), 'assignments:p0:0-2');
    await insertBlock('delivery_events', deliveryBlock('t-retry', 0), 'deliveries:p1:0-1');
    expect(await counts('t-retry')).toEqual(once);

    // The same rows under another token are another batch: they count again.
    await insertBlock('assignment_events', assignmentBlock('t-retry', 0), 'assignments:p0:100-102');
    await insertBlock('delivery_events', deliveryBlock('t-retry', 0), 'deliveries:p1:100-101');
    expect(await counts('t-retry')).toEqual({
      assignments: 6,
      assignmentRollup: 6,
      assignmentDaily: 6,
      deliveries: 4,
      deliveryRollup: 4,
      deliveryDaily: 4,
      eventIds: 10,
    });
  });

  it('a batch retried after a partial write counts once', async () => {
    // First attempt: the assignment part is written (raw table and views), then the process dies
    // before the delivery part.
    await insertBlock('assignment_events', assignmentBlock('t-partial', 0), 'partial:assignments:0');
    expect(await counts('t-partial')).toEqual({
      assignments: 3,
      assignmentRollup: 3,
      assignmentDaily: 3,
      deliveries: 0,
      deliveryRollup: 0,
      deliveryDaily: 0,
      eventIds: 3,
    });

    // The retry writes the whole batch with the same tokens.
    await insertBlock('assignment_events', assignmentBlock('t-partial', 0), 'partial:assignments:0');
    await insertBlock('delivery_events', deliveryBlock('t-partial', 0), 'partial:deliveries:0');
    expect(await counts('t-partial')).toEqual({
      assignments: 3,
      assignmentRollup: 3,
      assignmentDaily: 3,
      deliveries: 2,
      deliveryRollup: 2,
      deliveryDaily: 2,
      eventIds: 5,
    });

    // Even a second retry of the whole batch changes nothing.
    await insertBlock('assignment_events', assignmentBlock('t-partial', 0), 'partial:assignments:0');
    await insertBlock('delivery_events', deliveryBlock('t-partial', 0), 'partial:deliveries:0');
    expect(await counts('t-partial')).toEqual({
      assignments: 3,
      assignmentRollup: 3,
      assignmentDaily: 3,
      deliveries: 2,
      deliveryRollup: 2,
      deliveryDaily: 2,
      eventIds: 5,
    });
  });

  it('campaign names keep the latest name by event time, whatever the insert order', async () => {
    const base = assignmentBlock('t-names', 0)[0]!;
    await insertBlock(
      'assignment_events',
      [{ ...base, event_id: 'n-2', occurred_at: '2026-03-05 00:00:00.000', campaign_name: 'Newest' }],
      'names:1',
    );
    await insertBlock(
      'assignment_events',
      [{ ...base, event_id: 'n-1', occurred_at: '2026-03-01 00:00:00.000', campaign_name: 'Oldest' }],
      'names:2',
    );
    const result = await client.query({
      query:
        'SELECT argMax(campaign_name, named_at) AS name FROM campaign_names WHERE tenant_id = {tenant:String} AND playbook_id = {playbook:String} AND campaign_id = {campaign:String}',
      query_params: { tenant: 't-names', playbook: base.playbook_id, campaign: base.campaign_id },
      format: 'JSONEachRow',
    });
    expect(await result.json()).toEqual([{ name: 'Newest' }]);
  });
});
