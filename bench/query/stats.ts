/** The numbers the benchmark prints and how it prints them: quantiles, the latency tables, the load average. */
import os from 'node:os';

export const say = (line = '') => process.stdout.write(`${line}\n`);

/** The load average over 1, 5 and 15 minutes. */
export const loadAverage = () =>
  os
    .loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');

export const secondsSince = (since: number) => (performance.now() - since) / 1000;

/** The q-quantile of a non-empty list (nearest rank). */
export function quantile(list: readonly number[], q: number): number {
  const sorted = [...list].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** A number in a table column. */
export const fmt = (n: number) => n.toFixed(1).padStart(8);

/** A table's heading: its label column, then three right-aligned columns. */
export function sayTableHeading(label: string, columns: readonly [string, string, string]): void {
  say(`${label.padEnd(44)}${columns.map((column) => column.padStart(8)).join('')}`);
}

export const sayLatencyHeading = () => sayTableHeading('latency, ms', ['p50', 'p95', 'max']);

/** One row of a latency table: p50, p95 and max of a list of milliseconds. */
export function sayLatency(label: string, list: readonly number[]): void {
  say(`${label.padEnd(44)}${fmt(quantile(list, 0.5))}${fmt(quantile(list, 0.95))}${fmt(Math.max(...list))}`);
}

/** How long a piece of work took, and what it gave. */
export async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await work();
  return { ms: performance.now() - started, value };
}
