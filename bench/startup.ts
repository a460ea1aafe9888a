/**
 * bench-startup: how long `run --role api` takes from spawn to its "ready" line, and its resident
 * memory then, for the shipped form (the compiled dist/ through bin/sending-metrics.js on the
 * project's Node) against the TypeScript sources through tsx (what every start ran before the
 * build), on the same machine in the same run, alternating, median of --runs (5).
 *
 * Prints a line per start and `RESULT dist_ready_ms=… dist_rss_mb=… source_ready_ms=… source_rss_mb=… ratio_ready=… ratio_rss=…`
 * (ratio: dist over source; below 1 is better). Options: --runs N (5), --node PATH (the Node to
 * run both with; default this one). Needs dist/ (`make install` builds it) and a broker (the
 * make target starts the local one); the API opens the embedded engine in a fresh DATA_DIR.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, node: { type: 'string' } } });
const RUNS = Number(values.runs);
const NODE = values.node ?? process.execPath;
const ROOT = path.resolve(import.meta.dirname, '..');
const FORMS = {
  dist: path.join(ROOT, 'bin/sending-metrics.js'),
  source: path.join(ROOT, 'scripts/cli-from-source.mjs'),
} as const;

function rssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

/** One start: ms from spawn to the ready line, and the RSS then. */
async function start(entry: string): Promise<{ readyMs: number; rssMb: number }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-bench-startup-'));
  const began = performance.now();
  const child = spawn(NODE, [entry, 'run', '--role', 'api'], {
    cwd: ROOT,
    env: { ...process.env, DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  try {
    return await new Promise((resolve, reject) => {
      let text = '';
      child.stderr.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
        if (text.includes('sending-metrics ready')) resolve({ readyMs: performance.now() - began, rssMb: rssMb(child.pid!) });
      });
      child.once('exit', (code) => reject(new Error(`exited (${code}) before it was ready: ${text.slice(-400)}`)));
    });
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
if (!fs.existsSync(path.join(ROOT, 'dist/services/cli/main.js'))) throw new Error('dist/ is not built: run `make install` first');
const results: Record<keyof typeof FORMS, { readyMs: number; rssMb: number }[]> = { dist: [], source: [] };
console.log(`bench-startup: run --role api on ${NODE}, ${RUNS} starts of each form, alternating`);
for (let run = 1; run <= RUNS; run += 1) {
  for (const form of Object.keys(FORMS) as (keyof typeof FORMS)[]) {
    const result = await start(FORMS[form]);
    results[form].push(result);
    console.log(`  ${form.padEnd(6)} run ${run}: ready in ${result.readyMs.toFixed(0)} ms, RSS ${result.rssMb.toFixed(1)} MB`);
  }
}
const summary = Object.fromEntries(
  (Object.keys(FORMS) as (keyof typeof FORMS)[]).map((form) => [
    form,
    { ready: median(results[form].map((r) => r.readyMs)), rss: median(results[form].map((r) => r.rssMb)) },
  ]),
) as Record<keyof typeof FORMS, { ready: number; rss: number }>;
console.log(
  `RESULT node=${(await import('node:child_process')).execFileSync(NODE, ['--version']).toString().trim()} dist_ready_ms=${summary.dist.ready.toFixed(0)} dist_rss_mb=${summary.dist.rss.toFixed(1)} source_ready_ms=${summary.source.ready.toFixed(0)} source_rss_mb=${summary.source.rss.toFixed(1)} ratio_ready=${(summary.dist.ready / summary.source.ready).toFixed(2)} ratio_rss=${(summary.dist.rss / summary.source.rss).toFixed(2)}`,
);
