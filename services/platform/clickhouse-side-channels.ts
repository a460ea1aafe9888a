import type { ClickHouseClient } from '@clickhouse/client';

/**
 * What only the embedded engine has, looked up by client: its statement observers, its side client
 * and its streaming reads. For a ClickHouse server client every lookup answers the plain default
 * (the client itself, no stream, no observer), so callers never ask which engine they have.
 */

/** One piece of a streamed result: bytes in the query's format and the rows they hold. */
export interface StreamedChunk {
  bytes: Buffer;
  rows: number;
}

/**
 * Runs one SELECT (no FORMAT clause; `{name:Type}` placeholders bound from `params`) and
 * yields its output in `format` one block at a time, each fetched from the engine when the
 * reader asks for the next. Returning early, or aborting `signal`, cancels the query.
 */
export type QueryStream = (
  query: string,
  params: Record<string, unknown>,
  options: { format: string; signal?: AbortSignal },
) => AsyncGenerator<StreamedChunk>;

/** One statement the embedded engine ran: what it was and how long it held the connection. */
export interface EngineStatement {
  kind: 'query' | 'insert' | 'command' | 'exec' | 'ping' | 'close';
  /** The statement's SQL (for an insert, without its rows). */
  text: string;
  ms: number;
}

/** Per embedded-engine client: the observers of its statements (and its side client's), and its side client (made on first use). */
const embeddedParts = new WeakMap<
  ClickHouseClient,
  { observers: Set<(statement: EngineStatement) => void>; side: () => ClickHouseClient }
>();

/**
 * A client of the same data whose statements do not wait behind the given client's: on the
 * embedded engine, a client on a chDB session of its own (made on first use; a session runs one
 * statement at a time, and sessions run side by side); for a ClickHouse server, which runs
 * statements concurrently anyway, the client itself. The ingest's bookkeeping and duplicate
 * lookups run on it, beside the inserts, so that a batch's lookup overlaps the insert before it.
 */
export function sideClientOf(client: ClickHouseClient): ClickHouseClient {
  return embeddedParts.get(client)?.side() ?? client;
}

/**
 * Calls `observer` after every statement the embedded engine runs for `client` (benchmarks use it
 * to show where the engine's time goes: chDB has no system.query_log). Returns the unsubscribe;
 * a no-op for a ClickHouse server.
 */
export function observeEngineStatements(client: ClickHouseClient, observer: (statement: EngineStatement) => void): () => void {
  const parts = embeddedParts.get(client);
  if (!parts) return () => undefined;
  parts.observers.add(observer);
  return () => parts.observers.delete(observer);
}

/** The streaming reads of the clients that have them (the embedded engine's), by client. */
const queryStreams = new WeakMap<ClickHouseClient, { stream: QueryStream; active: () => number }>();

/**
 * The streaming read of `client`, or undefined for a client without one (a ClickHouse server,
 * where readers page through short queries instead, or a wrapped client).
 */
export function queryStreamOf(client: ClickHouseClient): QueryStream | undefined {
  return queryStreams.get(client)?.stream;
}

/** How many streams of `client` hold a query open right now (0 for a client without streams). */
export function activeQueryStreams(client: ClickHouseClient): number {
  return queryStreams.get(client)?.active() ?? 0;
}

/** Records what an embedded-engine client has beside it (chdb-connection.ts calls it once per client). */
export function registerEmbeddedParts(
  client: ClickHouseClient,
  parts: {
    observers: Set<(statement: EngineStatement) => void>;
    side: () => ClickHouseClient;
    streams: { stream: QueryStream; active: () => number };
  },
): void {
  embeddedParts.set(client, { observers: parts.observers, side: parts.side });
  queryStreams.set(client, parts.streams);
}
