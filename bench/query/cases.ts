/**
 * The request mix: random 30-day ranges (± up to 6 hours) with millisecond edges inside the data,
 * of a random tenant, some filtered by playbook (35%), some by playbook and campaign (10%).
 */
import type { MetricsRange } from '../../services/reporting/index.js';
import { CAMPAIGNS_PER_PLAYBOOK, PLAYBOOKS_PER_TENANT, RANGE_MS, TENANTS, type Dataset } from './dataset.js';

/** A range, and the same range as the query string of a request. */
export interface Case {
  range: MetricsRange;
  query: string;
}

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32). */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** A source of cases, the same sequence for the same seed. */
export function caseMaker(data: Dataset, seed: number): () => Case {
  const random = mulberry32(seed);
  const randomInt = (n: number) => Math.floor(random() * n);

  /** ISO-8601 with an explicit offset: mostly Z, some +05:30 and -08:00 (the same instant). */
  function iso(ms: number): string {
    const offsetMin = [0, 0, 330, -480][randomInt(4)]!;
    if (offsetMin === 0) return new Date(ms).toISOString();
    const local = new Date(ms + offsetMin * 60_000).toISOString().slice(0, 23);
    const abs = Math.abs(offsetMin);
    return `${local}${offsetMin < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  }

  return () => {
    const tenantId = TENANTS[randomInt(TENANTS.length)]!;
    // 30 days ± up to 6 hours, both edges at random milliseconds, inside the loaded span.
    const length = RANGE_MS + randomInt(12 * 3_600_000) - 6 * 3_600_000;
    const fromMs = data.startMs + randomInt(data.spanMs - length);
    const toMs = fromMs + length;
    const range: MetricsRange = { tenantId, fromMs, toMs };
    const filter = random();
    const c = randomInt(PLAYBOOKS_PER_TENANT * CAMPAIGNS_PER_PLAYBOOK);
    if (filter < 0.35) range.playbookId = `pb-${Math.floor(c / CAMPAIGNS_PER_PLAYBOOK)}`;
    if (filter < 0.1) range.campaignId = `cm-${c}`;
    const params = new URLSearchParams({ from: iso(fromMs), to: iso(toMs) });
    if (range.playbookId !== undefined) params.set('playbookId', range.playbookId);
    if (range.campaignId !== undefined) params.set('campaignId', range.campaignId);
    return { range, query: params.toString() };
  };
}
