import type { ClickHouseClient } from '../../platform/clickhouse.js';
import type { createUniqueWriteStep } from '../steps/unique-write.js';
import type { WrittenIds } from './written-ids.js';

export type UniqueWrite = ReturnType<typeof createUniqueWriteStep>;

interface Shared {
  write: UniqueWrite;
  writtenIds: WrittenIds | undefined;
  users: number;
}

const writers = new WeakMap<ClickHouseClient, Shared>();

/**
 * One cross-partition writer per engine client in a process. Every ingest member of the process
 * that writes through the same client (tests run two members of one group over one embedded
 * engine) shares its queue and its in-memory window of ids: a member's batch is checked once the
 * other members' inserts before it have ended, and against their ids. `make` builds it for the
 * first member; `release` (at the member's stop) stops the window with the last one.
 */
export function acquireWriter(
  client: ClickHouseClient,
  make: () => { write: UniqueWrite; writtenIds: WrittenIds | undefined },
): { write: UniqueWrite; writtenIds: WrittenIds | undefined; release(): void } {
  let shared = writers.get(client);
  if (!shared) {
    shared = { ...make(), users: 0 };
    writers.set(client, shared);
  }
  shared.users += 1;
  const entry = shared;
  let released = false;
  return {
    write: entry.write,
    writtenIds: entry.writtenIds,
    release() {
      if (released) return;
      released = true;
      entry.users -= 1;
      if (entry.users > 0) return;
      entry.writtenIds?.stop();
      writers.delete(client);
    },
  };
}
