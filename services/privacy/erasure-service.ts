import { randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '../platform/clickhouse.js';
import type { Config } from '../platform/config.js';
import { messageOf } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import { deleteCustomerFiles, type DownloadStorage } from '../downloads/index.js';
import { customerHash } from './customer-hash.js';
import { ErasureStore, type ErasureRecord } from './erasure-store.js';
import { eraseRawEvents } from './raw-events-erasure.js';

export interface ErasureServiceOptions {
  client: ClickHouseClient;
  config: Pick<Config, 'clickhouseCluster' | 'clickhouseSharding'>;
  /** Where download files are (DATA_DIR/downloads or DOWNLOADS_URL). */
  storage: DownloadStorage;
  /** The deployment's AUTH_JWT_SECRET: the customer hash is keyed by it. */
  secret: string;
  logger: Logger;
  /** How long the files step waits for the tenant's running downloads (default 10 minutes). */
  waitForRunningMs?: number;
}

export interface ErasureRequest {
  tenantId: string;
  customerId: string;
  /** Who asked: the token's user, or `cli:<os user>`. */
  requestedBy: string;
}

/**
 * Erasing a customer of a tenant: the raw rows' identifiers replaced (raw-events-erasure.ts), then
 * the download files that hold the customer deleted (downloads/download-erasure.ts), each request
 * recorded in `privacy_erasures` as running, then done (or failed: asking again is safe, each step
 * finds only what is left). Counts never change: no rollup holds a customer's identifiers.
 *
 * The same customer asked for while a request of theirs runs in this process gets that request
 * (one erasure, one id). A request after it finished is a request of its own, which finds nothing
 * left and is recorded with 0 rows and 0 files.
 */
export class ErasureService {
  private readonly store: ErasureStore;
  /** Requests running in this process by tenant and customer hash, and their latest state. */
  private readonly running = new Map<string, { record: ErasureRecord; done: Promise<ErasureRecord> }>();

  constructor(private readonly options: ErasureServiceOptions) {
    this.store = new ErasureStore(options.client);
  }

  /**
   * Starts erasing (or joins the running request for the same customer); resolves once the request
   * is recorded, with its running state and `done`, which resolves with its final state (never rejects).
   */
  async start(request: ErasureRequest): Promise<{ record: ErasureRecord; done: Promise<ErasureRecord> }> {
    const hash = customerHash(this.options.secret, request.tenantId, request.customerId);
    const key = `${request.tenantId}\u0000${hash}`;
    const joined = this.running.get(key);
    if (joined) return joined;
    const now = Date.now();
    const record: ErasureRecord = {
      id: randomUUID(),
      tenantId: request.tenantId,
      customerHash: hash,
      requestedBy: request.requestedBy,
      requestedAt: now,
      state: 'running',
      doneAt: undefined,
      rowsChanged: 0,
      filesDeleted: 0,
      error: '',
      version: 1,
    };
    let started!: () => void;
    const recorded = new Promise<void>((resolve) => (started = resolve));
    const entry = { record, done: recorded.then(() => this.run(record, request.customerId)) };
    this.running.set(key, entry);
    void entry.done.finally(() => this.running.delete(key));
    try {
      await this.store.save(record);
    } catch (error) {
      this.running.delete(key);
      throw error;
    }
    started();
    return entry;
  }

  /** Erases and waits for the final state. */
  async erase(request: ErasureRequest): Promise<ErasureRecord> {
    return (await this.start(request)).done;
  }

  /** The tenant's request `id`, as it stands. */
  async get(tenantId: string, id: string): Promise<ErasureRecord | undefined> {
    return this.store.get(tenantId, id);
  }

  /** The earlier requests for the same customer of the tenant (matched by hash). */
  async history(tenantId: string, customerId: string): Promise<ErasureRecord[]> {
    return this.store.ofCustomer(tenantId, customerHash(this.options.secret, tenantId, customerId));
  }

  private async run(record: ErasureRecord, customerId: string): Promise<ErasureRecord> {
    const { client, config, storage, logger } = this.options;
    let final: ErasureRecord;
    try {
      const rowsChanged = await eraseRawEvents(client, config, record.tenantId, customerId);
      const filesDeleted = await deleteCustomerFiles({
        client,
        storage,
        tenantId: record.tenantId,
        customerId,
        waitForRunningMs: this.options.waitForRunningMs,
      });
      final = { ...record, state: 'done', doneAt: Date.now(), rowsChanged, filesDeleted, version: record.version + 1 };
    } catch (error) {
      // The message of a ClickHouse or storage error; it never contains the customer id (query parameters are not echoed).
      final = {
        ...record,
        state: 'failed',
        doneAt: Date.now(),
        error: messageOf(error).replaceAll(customerId, '<customer>'),
        version: record.version + 1,
      };
    }
    try {
      await this.store.save(final);
    } catch (error) {
      logger.error({ err: error, erasureId: record.id }, 'erasure state not recorded');
    }
    logger.info(
      {
        erasureId: final.id,
        tenantId: final.tenantId,
        state: final.state,
        rowsChanged: final.rowsChanged,
        filesDeleted: final.filesDeleted,
      },
      'customer erasure finished',
    );
    return final;
  }
}
