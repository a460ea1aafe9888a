/**
 * The shape of the benchmark's data: its tenants, playbooks, campaigns and customers, and the span
 * of days the events are spread over (ending before 2026-11-27).
 */

export const DAY_MS = 86_400_000;
/** 2026-11-27T00:00:00Z, the end of the data (exclusive). */
export const END_MS = Date.UTC(2026, 10, 27);
/** Every measured range is 30 days long (± up to 6 hours), so the data spans at least 31 days. */
export const RANGE_MS = 30 * DAY_MS;
/** Tenants, by share of the events: 50, 30 and 20%. */
export const TENANTS = ['acme', 'globex', 'initech'] as const;
export const PLAYBOOKS_PER_TENANT = 10;
export const CAMPAIGNS_PER_PLAYBOOK = 5;
export const CUSTOMERS = 200_000;
export const ASSIGNMENT_SHARE = 0.4;

/** What a run loads: N events over the days before END_MS, generated from a seed. */
export interface Dataset {
  events: number;
  days: number;
  seed: number;
  startMs: number;
  endMs: number;
  spanMs: number;
}

export function datasetOf(events: number, days: number, seed: number): Dataset {
  const startMs = END_MS - days * DAY_MS;
  return { events, days, seed, startMs, endMs: END_MS, spanMs: END_MS - startMs };
}
