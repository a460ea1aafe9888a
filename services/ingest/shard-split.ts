/**
 * The sharded write's split (CLICKHOUSE_SHARDING=tenant), as pure functions: a batch's rows go to
 * the shard the Distributed tables send their tenant to, in batch order, each shard's block with
 * a deduplication token of its own derived from the batch's token. The same batch (the same
 * offsets, re-cut after a crash from the recorded intent) gives the same blocks and tokens, so
 * each shard drops the blocks it already has and takes the ones it missed: exactly once per shard.
 *
 * The shard of a row is the Distributed engine's: `xxHash64(tenant_id)` (TENANT_SHARDING_KEY of
 * services/migrations/cluster.ts) modulo the sum of the shard weights, the slots handed to the
 * shards in shard_num order by weight. test/integration/shard-split.test.ts checks this hash
 * against the engine's on the generated DDL's own sharding expression.
 */

const MASK = (1n << 64n) - 1n;
const P1 = 11400714785074694791n;
const P2 = 14029467366897019727n;
const P3 = 1609587929392839161n;
const P4 = 9650029242287828579n;
const P5 = 2870177450012600261n;

function rotl(x: bigint, r: bigint): bigint {
  return ((x << r) | (x >> (64n - r))) & MASK;
}

function round(acc: bigint, lane: bigint): bigint {
  return (rotl((acc + lane * P2) & MASK, 31n) * P1) & MASK;
}

function mergeRound(acc: bigint, value: bigint): bigint {
  return ((((acc ^ round(0n, value)) * P1) & MASK) + P4) & MASK;
}

/** XXH64 with seed 0, as ClickHouse's `xxHash64(String)`: an unsigned 64-bit value. */
export function xxHash64(input: string | Uint8Array): bigint {
  const bytes = typeof input === 'string' ? new TextEncoder().encode(input) : input;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = bytes.length;
  let i = 0;
  let h: bigint;
  if (length >= 32) {
    let v1 = (P1 + P2) & MASK;
    let v2 = P2;
    let v3 = 0n;
    let v4 = (MASK + 1n - P1) & MASK;
    for (; i + 32 <= length; i += 32) {
      v1 = round(v1, view.getBigUint64(i, true));
      v2 = round(v2, view.getBigUint64(i + 8, true));
      v3 = round(v3, view.getBigUint64(i + 16, true));
      v4 = round(v4, view.getBigUint64(i + 24, true));
    }
    h = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & MASK;
    for (const v of [v1, v2, v3, v4]) h = mergeRound(h, v);
  } else {
    h = P5;
  }
  h = (h + BigInt(length)) & MASK;
  for (; i + 8 <= length; i += 8) {
    h ^= round(0n, view.getBigUint64(i, true));
    h = (rotl(h, 27n) * P1 + P4) & MASK;
  }
  if (i + 4 <= length) {
    h ^= (BigInt(view.getUint32(i, true)) * P1) & MASK;
    h = (rotl(h, 23n) * P2 + P3) & MASK;
    i += 4;
  }
  for (; i < length; i += 1) {
    h ^= (BigInt(bytes[i] ?? 0) * P5) & MASK;
    h = (rotl(h, 11n) * P1) & MASK;
  }
  h ^= h >> 33n;
  h = (h * P2) & MASK;
  h ^= h >> 29n;
  h = (h * P3) & MASK;
  h ^= h >> 32n;
  return h;
}

/** The shards of the cluster as system.clusters lists them: shard_num and weight, in shard_num order. */
export interface ShardTopology {
  shards: { num: number; weight: number }[];
}

/** Checks a topology; returns it with the shards in shard_num order. */
export function shardTopology(shards: { num: number; weight: number }[]): ShardTopology {
  if (shards.length === 0) throw new Error('a sharded write needs at least one shard');
  for (const shard of shards) {
    if (!Number.isInteger(shard.num) || shard.num < 1 || !Number.isInteger(shard.weight) || shard.weight < 0) {
      throw new Error(`invalid shard ${JSON.stringify(shard)}: shard_num >= 1 and a whole weight >= 0`);
    }
  }
  if (!shards.some((shard) => shard.weight > 0)) throw new Error('every shard has weight 0: nothing can be written');
  return { shards: [...shards].sort((a, b) => a.num - b.num) };
}

/** The shard_num the Distributed table sends a tenant's rows to. */
export function shardOfTenant(tenantId: string, topology: ShardTopology): number {
  const total = topology.shards.reduce((sum, shard) => sum + shard.weight, 0);
  let slot = Number(xxHash64(tenantId) % BigInt(total));
  for (const shard of topology.shards) {
    if (slot < shard.weight) return shard.num;
    slot -= shard.weight;
  }
  throw new Error('unreachable: the slot is below the total weight');
}

/** The token of one shard's block: the batch's token, the shard and the layout the split was made for. */
export function shardToken(batchToken: string, shardNum: number, topology: ShardTopology): string {
  const weights = topology.shards.map((shard) => shard.weight);
  const layout = weights.every((weight) => weight === 1) ? String(weights.length) : weights.join(':');
  return `${batchToken}/shard-${shardNum}-of-${layout}`;
}

export interface ShardBlock<T> {
  shardNum: number;
  token: string;
  rows: T[];
}

/** Splits a batch into one block per shard that has rows, in shard_num order, rows in batch order. */
export function splitByShard<T>(
  rows: readonly T[],
  tenantOf: (row: T) => string,
  batchToken: string,
  topology: ShardTopology,
): ShardBlock<T>[] {
  const shardOf = new Map<string, number>();
  const blocks = new Map<number, T[]>();
  for (const row of rows) {
    const tenant = tenantOf(row);
    let shard = shardOf.get(tenant);
    if (shard === undefined) shardOf.set(tenant, (shard = shardOfTenant(tenant, topology)));
    let block = blocks.get(shard);
    if (!block) blocks.set(shard, (block = []));
    block.push(row);
  }
  return [...blocks.entries()]
    .sort(([a], [b]) => a - b)
    .map(([shardNum, block]) => ({ shardNum, token: shardToken(batchToken, shardNum, topology), rows: block }));
}
