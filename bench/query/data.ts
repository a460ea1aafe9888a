/**
 * 1. The data: N events loaded in time order, a few million at a time, as an ingest would write them
 * (the materialized views fill the rollups); then the disk they take and a check that the rollups
 * counted every raw row once.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ClickHouseClient } from '../../services/platform/clickhouse.js';
import { ASSIGNMENT_SHARE, type Dataset } from './dataset.js';
import { assignmentInsert, deliveryInsert } from './generated-events.js';
import { rows } from './rows.js';
import { loadAverage, say, secondsSince } from './stats.js';

const CHUNK_EVENTS = 3_000_000;
const TABLES = [
  'assignment_events',
  'assignment_counts_1d',
  'assignment_counts_15m',
  'campaign_names',
  'delivery_events',
  'delivery_counts_1d',
  'delivery_counts_15m',
];

/** Loads the events (unless `reuse`: an earlier run loaded them into the same data directory); the seconds it took. */
export async function loadEvents(
  client: ClickHouseClient,
  data: Dataset,
  { reuse, dataDir }: { reuse: boolean; dataDir: string },
): Promise<number> {
  const chunks = Math.max(1, Math.ceil(data.events / CHUNK_EVENTS));
  const assignmentsTotal = Math.round(data.events * ASSIGNMENT_SHARE);
  const deliveriesTotal = data.events - assignmentsTotal;
  const loadStarted = performance.now();
  let doneA = reuse ? assignmentsTotal : 0;
  let doneD = reuse ? deliveriesTotal : 0;
  for (let k = 0; k < (reuse ? 0 : chunks); k += 1) {
    // Slice k of the span, in whole milliseconds; the last one ends at endMs - 1.
    const sliceFromMs = data.startMs + Math.floor((data.spanMs * k) / chunks);
    const sliceToMs = data.startMs + Math.floor((data.spanMs * (k + 1)) / chunks);
    const sliceMs = sliceToMs - sliceFromMs;
    const a = Math.round((assignmentsTotal * (k + 1)) / chunks) - doneA;
    const d = Math.round((deliveriesTotal * (k + 1)) / chunks) - doneD;
    await client.command({ query: assignmentInsert({ seed: data.seed, first: doneA, count: a, sliceFromMs, sliceMs }) });
    await client.command({ query: deliveryInsert({ seed: data.seed, first: doneD, count: d, sliceFromMs, sliceMs }) });
    // The ingest's event-id tables (filled by views from the raw tables) keep 25 hours (TTL): at a
    // day's events per few seconds of loading they would hold every event. No query reads them.
    for (const table of ['ingest_event_ids', 'ingest_event_id_hashes']) await client.command({ query: `TRUNCATE TABLE ${table}` });
    doneA += a;
    doneD += d;
    if (process.stdout.isTTY)
      process.stdout.write(`\r  loading: ${doneA + doneD} / ${data.events} events, ${secondsSince(loadStarted).toFixed(0)} s`);
  }
  const loadSeconds = reuse ? 0 : secondsSince(loadStarted);
  if (process.stdout.isTTY && !reuse) process.stdout.write('\n');
  if (reuse) say(`reusing the ${data.events} events loaded into ${dataDir} by an earlier run (plus what its load test wrote)`);
  else
    say(
      `loaded ${data.events} events (${doneA} assignments, ${doneD} deliveries) in ${loadSeconds.toFixed(1)} s = ${Math.round(data.events / loadSeconds)} events/s (raw tables + 5 materialized views); load average ${loadAverage()}`,
    );
  return loadSeconds;
}

/** How dense the data is: events a day, and what the largest tenant sends. */
export function sayDensity(data: Dataset): void {
  const perDay = data.events / data.days;
  say(
    `density: ${Math.round(perDay)} events a day, the largest tenant ${Math.round(perDay * 0.5)} (${Math.round(perDay * 0.5 * (1 - ASSIGNMENT_SHARE))} messages), ${((perDay * 0.5) / 86_400).toFixed(1)} events/s`,
  );
}

/** Bytes under a directory (what the data takes on disk, apparent sizes). */
function directoryBytes(dir: string): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) total += directoryBytes(full);
    else if (entry.isFile()) total += fs.statSync(full).size;
  }
  return total;
}

/** Prints the tables' rows, parts and size (from system.parts) and the data directory's disk use; its bytes. */
export async function sayDiskUse(client: ClickHouseClient, dataPath: string): Promise<number> {
  const stats = await rows<{ table: string; rows: string; parts: string; bytes: string }>(
    client,
    `SELECT table, sum(rows) AS rows, count() AS parts, sum(bytes_on_disk) AS bytes FROM system.parts
     WHERE active AND database = currentDatabase() AND has({tables:Array(String)}, table) GROUP BY table`,
    { tables: TABLES },
  );
  for (const table of TABLES) {
    const row = stats.find((s) => s.table === table);
    say(
      `  ${table.padEnd(22)} ${String(row?.rows ?? 0).padStart(10)} rows ${String(row?.parts ?? 0).padStart(5)} parts ${(Number(row?.bytes ?? 0) / 1048576).toFixed(0).padStart(6)} MB`,
    );
  }
  const diskBytes = directoryBytes(dataPath);
  const tableBytes = stats.reduce((sum, row) => sum + Number(row.bytes), 0);
  say(
    `disk use: ${(diskBytes / 1048576).toFixed(0)} MB under ${dataPath} (these tables' active parts: ${(tableBytes / 1048576).toFixed(0)} MB)`,
  );
  return diskBytes;
}

/**
 * The views must have counted every raw row once, at both grains; throws if not. Reused data holds
 * at least the events loaded (the earlier runs' load tests added some).
 */
export async function checkRollups(client: ClickHouseClient, data: Dataset, reuse: boolean): Promise<void> {
  const [totals] = await rows<Record<'a_raw' | 'a_15m' | 'a_1d' | 'd_raw' | 'd_15m' | 'd_1d', string>>(
    client,
    `SELECT
    (SELECT count() FROM assignment_events) AS a_raw, (SELECT sum(entries + exits) FROM assignment_counts_15m) AS a_15m, (SELECT sum(entries + exits) FROM assignment_counts_1d) AS a_1d,
    (SELECT count() FROM delivery_events) AS d_raw, (SELECT sum(events) FROM delivery_counts_15m) AS d_15m, (SELECT sum(events) FROM delivery_counts_1d) AS d_1d`,
  );
  const t = totals!;
  const raw = Number(t.a_raw) + Number(t.d_raw);
  if (
    !(
      t.a_raw === t.a_15m &&
      t.a_raw === t.a_1d &&
      t.d_raw === t.d_15m &&
      t.d_raw === t.d_1d &&
      (reuse ? raw >= data.events : raw === data.events)
    )
  ) {
    throw new Error(`the rollups do not add up to the raw tables: ${JSON.stringify(t)}`);
  }
}
