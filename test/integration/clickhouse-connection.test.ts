import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestClickHouse } from '../support/clickhouse.js';
import type { ClickHouseHandle } from '../../services/platform/clickhouse.js';

describe('the embedded ClickHouse connection', () => {
  let clickhouse: ClickHouseHandle;
  beforeAll(async () => {
    ({ handle: clickhouse } = await openTestClickHouse('connection'));
  });
  afterAll(async () => clickhouse?.close());

  const setting = async (name: string) => {
    const result = await clickhouse.client.query({
      query: 'SELECT toString(getSetting({name:String})) AS v',
      query_params: { name },
      format: 'JSONEachRow',
    });
    return ((await result.json()) as { v: string }[])[0]!.v;
  };

  it('keeps a setting given to one call to that call', async () => {
    const before = await setting('max_block_size');
    const result = await clickhouse.client.query({
      query: "SELECT toString(getSetting('max_block_size')) AS v",
      format: 'JSONEachRow',
      clickhouse_settings: { max_block_size: '1234' },
    });
    expect(((await result.json()) as { v: string }[])[0]!.v).toBe('1234');
    expect(await setting('max_block_size')).toBe(before);
  });

  it('an insert deduplication token does not leak into the next insert', async () => {
    await clickhouse.client.command({
      query: 'CREATE TABLE leak (n UInt32) ENGINE = MergeTree ORDER BY n SETTINGS non_replicated_deduplication_window = 100',
    });
    await clickhouse.client.insert({
      table: 'leak',
      values: [{ n: 1 }],
      format: 'JSONEachRow',
      clickhouse_settings: { insert_deduplication_token: 'same' },
    });
    await clickhouse.client.insert({ table: 'leak', values: [{ n: 2 }], format: 'JSONEachRow' });
    await clickhouse.client.insert({
      table: 'leak',
      values: [{ n: 3 }],
      format: 'JSONEachRow',
      clickhouse_settings: { insert_deduplication_token: 'same' },
    });
    const result = await clickhouse.client.query({
      query: 'SELECT groupArray(n) AS ns FROM (SELECT n FROM leak ORDER BY n)',
      format: 'JSONEachRow',
    });
    expect(((await result.json()) as { ns: number[] }[])[0]!.ns).toEqual([1, 2]);
  });

  it('runs concurrent calls one at a time and answers each', async () => {
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        clickhouse.client.query({ query: 'SELECT {i:UInt32} AS i', query_params: { i }, format: 'JSONEachRow' }).then((r) => r.json()),
      ),
    );
    expect(answers.map((rows) => (rows as { i: number }[])[0]!.i)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });
});
