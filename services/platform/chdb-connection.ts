import crypto from 'node:crypto';
import fs from 'node:fs';
import { createClient, parseError, type ClickHouseClient } from '@clickhouse/client';
import type { Connection } from '@clickhouse/client-common';
import type Stream from 'node:stream';
import { registerEmbeddedParts, type EngineStatement, type QueryStream } from './clickhouse-side-channels.js';
import type { ClickHouseHandle } from './clickhouse-handle.js';
import { ConfigError } from './config.js';
import { messageOf } from './errors.js';
import type { Logger } from './logger.js';

/**
 * The embedded engine (chDB through `chdb/connection`) behind the ordinary ClickHouse client: one
 * connection whose statements run one after another, a side client on a session of its own, and
 * streaming reads on sessions of their own.
 */

type ChdbConnection = Connection<Stream.Readable>;

type Settings = Record<string, unknown>;
type WithSettings = { clickhouse_settings?: Settings };

/**
 * The embedded engine runs one statement at a time per session, and a concurrent statement
 * breaks an open stream. This connection runs every operation of the wrapped one strictly one
 * after another, in arrival order, so callers use the ordinary client and never see the queue.
 * Results over chDB are materialised before the call resolves, so holding the turn until the
 * promise settles is enough.
 *
 * It also keeps per-call settings per call: chDB applies `clickhouse_settings` as session-wide
 * `SET`s, so a setting given to one call (say an insert_deduplication_token) would otherwise
 * stay in force for every later statement. Each call therefore also carries the defaults of the
 * settings earlier calls changed and it does not set itself.
 */
export class SerializedConnection implements ChdbConnection {
  private tail: Promise<unknown> = Promise.resolve();
  /** Default value (as text) of every engine setting a call has set; null = not an engine setting. */
  private readonly defaults = new Map<string, string | null>();
  /** Settings currently changed in the session by an earlier call. */
  private changed = new Set<string>();
  constructor(
    private readonly inner: ChdbConnection,
    /** Told of every statement once it has run (observeEngineStatements). */
    private readonly observers = new Set<(statement: EngineStatement) => void>(),
  ) {}

  private turn<P extends WithSettings, T>(kind: EngineStatement['kind'], params: P, operation: (params: P) => Promise<T>): Promise<T> {
    const run = async () => {
      const started = this.observers.size > 0 ? performance.now() : 0;
      const own = params.clickhouse_settings ?? {};
      await this.learnDefaults(Object.keys(own));
      const merged: Settings = {};
      for (const key of this.changed) if (!(key in own)) merged[key] = this.defaults.get(key);
      Object.assign(merged, own);
      try {
        return await operation({ ...params, clickhouse_settings: merged });
      } finally {
        this.changed = new Set(Object.keys(own).filter((key) => typeof this.defaults.get(key) === 'string'));
        if (started > 0) {
          const statement = { kind, text: (params as { query?: string }).query ?? '', ms: performance.now() - started };
          for (const observer of this.observers) observer(statement);
        }
      }
    };
    const result = this.tail.then(run, run);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  private async learnDefaults(keys: string[]): Promise<void> {
    const unknown = keys.filter((key) => !this.defaults.has(key));
    if (unknown.length === 0) return;
    const result = await this.inner.query({
      query: 'SELECT name, default FROM system.settings WHERE has({names:Array(String)}, name) FORMAT JSONCompactEachRow',
      query_params: { names: unknown },
      query_id: crypto.randomUUID(),
    } as Parameters<ChdbConnection['query']>[0]);
    let text = '';
    for await (const chunk of result.stream as AsyncIterable<Buffer>) text += chunk.toString();
    const found = new Map(
      text
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as [string, string]),
    );
    for (const key of unknown) this.defaults.set(key, found.get(key) ?? null);
  }

  ping(params: Parameters<ChdbConnection['ping']>[0]) {
    return this.turn('ping', {}, () => this.inner.ping(params));
  }
  query(params: Parameters<ChdbConnection['query']>[0]) {
    return this.turn('query', params, (p) => this.inner.query(p));
  }
  insert(params: Parameters<ChdbConnection['insert']>[0]) {
    return this.turn('insert', params, (p) => this.inner.insert(p));
  }
  command(params: Parameters<ChdbConnection['command']>[0]) {
    return this.turn('command', params, (p) => this.inner.command(p));
  }
  exec(params: Parameters<ChdbConnection['exec']>[0]) {
    return this.turn('exec', params, (p) => this.inner.exec(p));
  }
  close() {
    return this.turn('close', {}, () => this.inner.close());
  }
}

/** Opens chDB at `dataPath` (created if missing) behind one SerializedConnection. */
export async function openEmbeddedClickHouse(
  options: { dataPath: string; database: string; settings: Record<string, unknown> },
  log: Logger,
): Promise<ClickHouseHandle> {
  // Loaded lazily, and only here: the engine library is large, an optional dependency, and
  // absent from the container image meant for CLICKHOUSE_URL deployments.
  const { createChdbConnection } = await loadEmbeddedEngine();
  const { Session } = await import('chdb');
  fs.mkdirSync(options.dataPath, { recursive: true });
  const observers = new Set<(statement: EngineStatement) => void>();
  const embeddedClient = () =>
    createClient({
      connection: new SerializedConnection(createChdbConnection({ path: options.dataPath }) as unknown as ChdbConnection, observers),
      database: options.database,
      clickhouse_settings: { ...options.settings },
    } as Parameters<typeof createClient>[0]);
  const client = embeddedClient();
  let side: ClickHouseClient | undefined;
  let closed = false;
  const streams = embeddedQueryStreams(Session, options.dataPath);
  registerEmbeddedParts(client, {
    observers,
    streams,
    side: () => {
      if (closed) return client; // its calls fail as the closed client's do
      side ??= embeddedClient();
      return side;
    },
  });
  log.info({ path: options.dataPath }, 'using embedded ClickHouse (chDB)');
  return {
    client,
    mode: 'embedded',
    target: `chdb:${options.dataPath}`,
    close: async () => {
      // Streams and the side client first: their sessions are connections to the engine the client holds.
      closed = true;
      streams.close();
      await side?.close();
      await client.close();
    },
  };
}

/**
 * Streaming reads on the embedded engine. Each stream runs on a chDB session of its own (a
 * connection to the same engine and data, about a millisecond to open): a session runs one
 * statement at a time, so a stream on the shared connection would stop every other query and
 * insert until it ended, while on its own session it runs beside them.
 */
function embeddedQueryStreams(
  Session: typeof import('chdb').Session,
  dataPath: string,
): { stream: QueryStream; active: () => number; close: () => void } {
  const open = new Set<InstanceType<typeof Session>>();
  let closed = false;
  async function* stream(query: string, params: Record<string, unknown>, options: { format: string; signal?: AbortSignal }) {
    if (closed) throw new Error('the ClickHouse client is closed');
    const session = new Session(dataPath);
    open.add(session);
    try {
      const chunks = session.queryStreamBind(query, params, { format: options.format, signal: options.signal });
      for await (const chunk of chunks) {
        const raw = chunk.raw();
        yield { bytes: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength), rows: chunk.numRows };
      }
    } catch (error) {
      // The same error shape as the client's other calls (code, type).
      const message = messageOf(error);
      const mapped = parseError(message.replace(/^.*?(?=Code: \d+\.)/s, ''));
      if (mapped !== error) mapped.cause = error;
      throw mapped;
    } finally {
      open.delete(session);
      session.close();
    }
  }
  return {
    stream,
    active: () => open.size,
    close: () => {
      closed = true;
      for (const session of open) session.close();
      open.clear();
    },
  };
}

/** Set when an `import()` failed because the package itself is not installed. */
function isMissingPackage(error: unknown, name: string): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  const missing = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || code === 'ERR_PACKAGE_PATH_NOT_EXPORTED';
  return (
    missing &&
    typeof message === 'string' &&
    (message.includes(`'${name}'`) || message.includes(`'${name}/`) || message.includes(`/${name}/`))
  );
}

/**
 * The embedded engine (npm `chdb`, an optional dependency). Without it and without
 * CLICKHOUSE_URL there is no ClickHouse to use: that is a configuration error (exit 78)
 * said in one line, not a stack trace.
 */
async function loadEmbeddedEngine(): Promise<typeof import('chdb/connection')> {
  try {
    return await import('chdb/connection');
  } catch (error) {
    if (isMissingPackage(error, 'chdb')) {
      throw new ConfigError(
        'CLICKHOUSE_URL is unset and the embedded engine (npm package chdb) is not installed; ' +
          'set CLICKHOUSE_URL to a ClickHouse server, or install chdb (npm install chdb, or the all-in-one image)',
      );
    }
    throw error;
  }
}
