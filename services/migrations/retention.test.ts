import { describe, expect, it } from 'vitest';
import { planMigrations, renderPlan } from './migrate.js';
import { idWindowStatements, idWindowTtl, rawRetentionTtl, retentionStatements, tableTtlOf } from './retention.js';

const replica = { cluster: 'events', replicaPath: '/clickhouse/tables/{shard}/{database}/{table}', replicaName: '{replica}' };

describe('raw event retention DDL', () => {
  it('is one MODIFY TTL per raw table, ON CLUSTER on a cluster and on the _local tables when sharded', () => {
    expect(retentionStatements({ form: 'single' }, 30)).toEqual([
      'ALTER TABLE assignment_events MODIFY TTL occurred_at + toIntervalDay(30)',
      'ALTER TABLE delivery_events MODIFY TTL occurred_at + toIntervalDay(30)',
    ]);
    expect(retentionStatements({ form: 'replicated', ...replica }, 30)).toEqual([
      "ALTER TABLE assignment_events ON CLUSTER 'events' MODIFY TTL occurred_at + toIntervalDay(30)",
      "ALTER TABLE delivery_events ON CLUSTER 'events' MODIFY TTL occurred_at + toIntervalDay(30)",
    ]);
    expect(retentionStatements({ form: 'sharded', ...replica }, 30)).toEqual([
      "ALTER TABLE assignment_events_local ON CLUSTER 'events' MODIFY TTL occurred_at + toIntervalDay(30)",
      "ALTER TABLE delivery_events_local ON CLUSTER 'events' MODIFY TTL occurred_at + toIntervalDay(30)",
    ]);
    expect(retentionStatements({ form: 'single' }, undefined)).toEqual([]);
  });

  it('migrate --print shows the statements only when RAW_RETENTION_DAYS is set', async () => {
    const without = renderPlan(await planMigrations({ form: 'single' }));
    const withDays = renderPlan(await planMigrations({ form: 'single' }, undefined, 7));
    expect(without).not.toContain('MODIFY TTL occurred_at');
    expect(withDays.startsWith(without.trimEnd())).toBe(true);
    expect(withDays).toContain('ALTER TABLE delivery_events MODIFY TTL occurred_at + toIntervalDay(7);');
  });

  it('the id tables keep the deduplication window and an hour; migrate --print shows it when it is not 24 hours', async () => {
    expect(idWindowStatements({ form: 'single' }, 24)).toEqual([]);
    expect(idWindowStatements({ form: 'single' }, 168)).toEqual([
      'ALTER TABLE ingest_event_ids MODIFY TTL ingested_at + toIntervalHour(169)',
      'ALTER TABLE ingest_event_id_hashes MODIFY TTL ingested_at + toIntervalHour(169)',
    ]);
    expect(idWindowStatements({ form: 'sharded', ...replica }, 48)).toEqual([
      "ALTER TABLE ingest_event_ids_local ON CLUSTER 'events' MODIFY TTL ingested_at + toIntervalHour(49)",
      "ALTER TABLE ingest_event_id_hashes_local ON CLUSTER 'events' MODIFY TTL ingested_at + toIntervalHour(49)",
    ]);
    const plan = renderPlan(await planMigrations({ form: 'single' }, undefined, undefined, 72));
    expect(plan).toContain('ALTER TABLE ingest_event_id_hashes MODIFY TTL ingested_at + toIntervalHour(73);');
    // The files' own TTL is the default window's: 24 hours and one.
    expect(idWindowTtl(24)).toBe('ingested_at + toIntervalHour(25)');
  });

  it('reads a table TTL back from engine_full', () => {
    const engine = (ttl: string) =>
      `MergeTree PARTITION BY toYYYYMM(occurred_at) ORDER BY (tenant_id, occurred_at, event_id)${ttl} SETTINGS index_granularity = 8192`;
    expect(tableTtlOf(engine(` TTL ${rawRetentionTtl(3)}`))).toBe('occurred_at + toIntervalDay(3)');
    expect(tableTtlOf(engine(''))).toBeUndefined();
  });
});
