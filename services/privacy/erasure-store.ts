import type { ClickHouseClient } from '../platform/clickhouse.js';
import { dateTime64Text } from '../platform/clickhouse-values.js';

/** The states of an erasure request: running until its raw rows and files are done, then done (or failed, to be asked again). */
export const ERASURE_STATES = ['running', 'done', 'failed'] as const;
export type ErasureState = (typeof ERASURE_STATES)[number];

export interface ErasureRecord {
  id: string;
  tenantId: string;
  /** HMAC-SHA256 of the customer id (customer-hash.ts); the id itself is never stored. */
  customerHash: string;
  requestedBy: string;
  requestedAt: number;
  state: ErasureState;
  doneAt: number | undefined;
  /** Raw event rows whose identifiers were replaced (0: a second request for the same customer). */
  rowsChanged: number;
  filesDeleted: number;
  /** Why it failed; '' otherwise. */
  error: string;
  version: number;
}

interface StoredRow {
  id: string;
  tenant_id: string;
  customer_hash: string;
  requested_by: string;
  requested_ms: string | number;
  state: string;
  done_ms: string | number | null;
  rows_changed: string | number;
  files_deleted: string | number;
  error: string;
  version: string | number;
}

const COLUMNS = `id, tenant_id, customer_hash, requested_by, toUnixTimestamp64Milli(requested_at) AS requested_ms, state,
  if(isNull(done_at), NULL, toUnixTimestamp64Milli(assumeNotNull(done_at))) AS done_ms, rows_changed, files_deleted, error, version`;

function fromRow(row: StoredRow): ErasureRecord {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    customerHash: row.customer_hash,
    requestedBy: row.requested_by,
    requestedAt: Number(row.requested_ms),
    state: row.state as ErasureState,
    doneAt: row.done_ms === null ? undefined : Number(row.done_ms),
    rowsChanged: Number(row.rows_changed),
    filesDeleted: Number(row.files_deleted),
    error: row.error,
    version: Number(row.version),
  };
}

/** The `privacy_erasures` table (ReplacingMergeTree(version)): every state of a request is a row with a higher version. */
export class ErasureStore {
  constructor(private readonly client: ClickHouseClient) {}

  async save(record: ErasureRecord): Promise<void> {
    await this.client.insert({
      table: 'privacy_erasures',
      format: 'JSONEachRow',
      values: [
        {
          id: record.id,
          tenant_id: record.tenantId,
          customer_hash: record.customerHash,
          requested_by: record.requestedBy,
          requested_at: dateTime64Text(record.requestedAt),
          state: record.state,
          done_at: record.doneAt === undefined ? null : dateTime64Text(record.doneAt),
          rows_changed: record.rowsChanged,
          files_deleted: record.filesDeleted,
          error: record.error,
          version: record.version,
        },
      ],
    });
  }

  /** The latest state of the tenant's request `id`. */
  async get(tenantId: string, id: string): Promise<ErasureRecord | undefined> {
    const result = await this.client.query({
      query: `SELECT ${COLUMNS} FROM privacy_erasures WHERE tenant_id = {tenantId:String} AND id = {id:String}
ORDER BY version DESC LIMIT 1`,
      query_params: { tenantId, id },
      format: 'JSONEachRow',
    });
    const [row] = await result.json<StoredRow>();
    return row ? fromRow(row) : undefined;
  }

  /** The latest state of every request for one customer of the tenant (by hash), oldest request first. */
  async ofCustomer(tenantId: string, hash: string): Promise<ErasureRecord[]> {
    const result = await this.client.query({
      query: `SELECT * FROM (SELECT ${COLUMNS} FROM privacy_erasures
WHERE tenant_id = {tenantId:String} AND customer_hash = {hash:String} ORDER BY version DESC LIMIT 1 BY id) ORDER BY requested_ms, id`,
      query_params: { tenantId, hash },
      format: 'JSONEachRow',
    });
    return (await result.json<StoredRow>()).map(fromRow);
  }
}
