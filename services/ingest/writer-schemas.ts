import type { ConfluentReader } from '../events/confluent-reader.js';
import type { HealthCheckResult } from '../platform/health.js';
import type { Logger } from '../platform/logger.js';
import type { SchemaRegistryClient } from '../platform/schema-registry-client.js';
import type { SourceRecord } from './record.js';
import { messageOf } from '../platform/errors.js';

/**
 * Before a fetched batch is decoded, looks up in the schema registry the writer schemas of its
 * Confluent-framed records not seen before (one request per id; an id's answer is kept for
 * good: ids are immutable). A registry that cannot be asked never turns records into dead
 * letters: the partition waits, retrying with backoff, and `health()` (the `schema-registry`
 * check of /readyz) says why until it answers again.
 */
export class WriterSchemas {
  private failing: string | undefined;

  constructor(
    private readonly reader: ConfluentReader,
    private readonly client: SchemaRegistryClient,
    private readonly logger: Logger,
    private readonly maxDelayMs = 30_000,
  ) {}

  health(): HealthCheckResult {
    return this.failing ? { ok: false, detail: this.failing } : { ok: true };
  }

  /**
   * Resolves once every id of `records` is known, or false when `cancelled()` turned true first
   * (partition revoked, shutting down). `wait` sleeps between attempts (and heartbeats the group).
   */
  async prepare(records: readonly SourceRecord[], wait: (ms: number) => Promise<void>, cancelled: () => boolean): Promise<boolean> {
    const ids = this.reader.missingIds(records.map((record) => record.value));
    for (const id of ids) {
      for (let attempt = 1; !this.reader.knows(id); attempt += 1) {
        if (cancelled()) return false;
        try {
          const answer = await this.client.schemaById(id);
          this.reader.learn(id, answer);
          if (this.failing) this.logger.info({ schemaId: id }, 'the schema registry answers again');
          this.failing = undefined;
          this.logger.debug({ schemaId: id, answer: answer.kind }, 'writer schema looked up');
        } catch (error) {
          const delay = Math.min(this.maxDelayMs, 250 * 2 ** Math.min(attempt - 1, 8));
          this.failing = `cannot look up schema id ${id}: ${messageOf(error)}; the partitions with such records wait`;
          this.logger.warn({ err: error, schemaId: id, attempt, retryInMs: delay }, 'schema registry lookup failed; retrying');
          await wait(delay);
        }
      }
    }
    return true;
  }
}
