import crypto from 'node:crypto';
import type { ClickHouseClient } from '../platform/clickhouse.js';
import type { Config } from '../platform/config.js';

/**
 * A customer's identifiers in the raw event tables, replaced in place by a mutation:
 * - `customer_id` becomes `erased-<32 random hex digits>`, one token per request, the same in
 *   every row, so that anything counting distinct customers would count them as one still;
 * - `message_id` (delivery_events) becomes `<token>-<first 16 bytes, hex, of SHA-256(salt, message id)>`
 *   with a random salt that is never stored: the customer's messages stay told apart (and each
 *   message's statuses stay together) but cannot be traced back to the platform's messages;
 * - `reason` (delivery_events: a provider's free text, which may quote an address or a number)
 *   becomes 'erased' where there was one (NULL stays NULL).
 * No count depends on these columns (the rollups hold none of them), and none is in a table's
 * ORDER BY, so a mutation may rewrite them. `event_id` stays: it is a key column, made by the
 * producer (or a hash of a provider's id and status), not the customer's.
 *
 * The customer id never reaches ClickHouse: rows are matched by SHA-256 of a random per-request key
 * followed by the id, which is all a query log or the table's record of its mutations
 * (`system.mutations`, the last `finished_mutations_to_keep`) shows.
 *
 * With mutations_sync = 2 each ALTER returns once every replica has applied it. On a cluster it
 * runs ON CLUSTER, on each shard's `<table>_local` when the tables are sharded by tenant.
 */

export const ERASED_PREFIX = 'erased-';

export const RAW_TABLES = ['assignment_events', 'delivery_events'] as const;
type RawTable = (typeof RAW_TABLES)[number];

/** The columns each raw table's mutation rewrites (SQL with {token:String} and {salt:String}). */
const ASSIGNMENTS: Record<RawTable, string> = {
  assignment_events: 'customer_id = {token:String}',
  delivery_events: [
    'customer_id = {token:String}',
    "message_id = concat({token:String}, '-', lower(hex(substring(SHA256(concat({salt:String}, message_id)), 1, 16))))",
    "reason = if(isNull(reason), NULL, 'erased')",
  ].join(', '),
};

const quoteIdentifier = (name: string) => `\`${name.replaceAll('\\', '\\\\').replaceAll('`', '\\`')}\``;

/** The table a mutation of `table` runs on, and its ON CLUSTER clause. */
export function mutationTarget(table: RawTable, config: Pick<Config, 'clickhouseCluster' | 'clickhouseSharding'>): string {
  if (config.clickhouseCluster === undefined) return table;
  const local = config.clickhouseSharding === 'tenant' ? `${table}_local` : table;
  return `${local} ON CLUSTER ${quoteIdentifier(config.clickhouseCluster)}`;
}

/** A new irreversible token: `erased-` and 128 random bits. */
export function newErasureToken(): string {
  return `${ERASED_PREFIX}${crypto.randomBytes(16).toString('hex')}`;
}

/** How a query names the customer without their id: SHA-256 of a random key and the id. */
export interface CustomerMatch {
  key: string;
  digest: string;
}

export function customerMatch(customerId: string): CustomerMatch {
  const key = crypto.randomBytes(16).toString('hex');
  return {
    key,
    digest: crypto
      .createHash('sha256')
      .update(key + customerId, 'utf8')
      .digest('hex'),
  };
}

const MATCH = 'tenant_id = {tenantId:String} AND SHA256(concat({key:String}, customer_id)) = unhex({digest:String})';

/** How many raw rows of the tenant carry the customer id. */
export async function customerRows(client: ClickHouseClient, tenantId: string, customerId: string): Promise<number> {
  const match = customerMatch(customerId);
  let rows = 0;
  for (const table of RAW_TABLES) {
    const result = await client.query({
      query: `SELECT count() AS n FROM ${table} WHERE ${MATCH}`,
      query_params: { tenantId, ...match },
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ n: string | number }>();
    rows += Number(row?.n ?? 0);
  }
  return rows;
}

/**
 * Replaces the customer's identifiers in every raw table; returns how many rows carried them
 * before (0: nothing to do, no mutation is run). Running it again finds no row of the customer.
 */
export async function eraseRawEvents(
  client: ClickHouseClient,
  config: Pick<Config, 'clickhouseCluster' | 'clickhouseSharding'>,
  tenantId: string,
  customerId: string,
): Promise<number> {
  const rows = await customerRows(client, tenantId, customerId);
  if (rows === 0) return 0;
  const token = newErasureToken();
  const salt = crypto.randomBytes(16).toString('hex');
  const match = customerMatch(customerId);
  for (const table of RAW_TABLES) {
    await client.command({
      query: `ALTER TABLE ${mutationTarget(table, config)} UPDATE ${ASSIGNMENTS[table]} WHERE ${MATCH}`,
      query_params: { tenantId, token, salt, ...match },
      clickhouse_settings: { mutations_sync: '2' },
    });
  }
  return rows;
}
