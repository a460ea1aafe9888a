import type { ClickHouseClient } from '../platform/clickhouse.js';
import { shardTopology, type ShardTopology } from './shard-split.js';

/**
 * The shards of `cluster` (CLICKHOUSE_CLUSTER; a macro such as `{cluster}` is expanded by the
 * server) from system.clusters: shard_num and weight, the two things the Distributed table
 * routes by. Read once per process: after a change of the shard layout the ingest is restarted
 * (deploy/clickhouse/README.md, "Adding shards").
 */
export async function loadShardTopology(client: ClickHouseClient, cluster: string): Promise<ShardTopology> {
  let name = cluster;
  const macro = /^\{([A-Za-z0-9_]+)\}$/.exec(cluster);
  if (macro) {
    const result = await client.query({
      query: 'SELECT getMacro({macro:String}) AS name',
      query_params: { macro: macro[1] },
      format: 'JSONEachRow',
    });
    name = (await result.json<{ name: string }>())[0]?.name ?? cluster;
  }
  const result = await client.query({
    query: `SELECT shard_num, any(shard_weight) AS weight FROM system.clusters
            WHERE cluster = {name:String} GROUP BY shard_num ORDER BY shard_num`,
    query_params: { name },
    format: 'JSONEachRow',
  });
  const rows = await result.json<{ shard_num: number | string; weight: number | string }>();
  if (rows.length === 0) {
    throw new Error(
      `CLICKHOUSE_SHARDING=tenant: the server has no cluster ${JSON.stringify(name)} in system.clusters ` +
        '(the embedded engine has none: sharding needs CLICKHOUSE_URL)',
    );
  }
  return shardTopology(rows.map((row) => ({ num: Number(row.shard_num), weight: Number(row.weight) })));
}
