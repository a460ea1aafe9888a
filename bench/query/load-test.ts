/**
 * 5. Many dashboards at once: 10 users (tokens spread over the tenants) asking for the campaigns of
 * the last 30 days, at 1, 10 and 50 connections, first without the answer cache, then with it,
 * while a writer adds events to every tenant's range twice a second and bumps the tenants' data
 * versions as the ingest does. Afterwards the cached answers must equal the uncached ones.
 */
import type { ClickHouseClient } from '../../services/platform/clickhouse.js';
import type { Config } from '../../services/platform/config.js';
import type { Logger } from '../../services/platform/logger.js';
import { AnswerCache, type CampaignNames, type TenantDataVersions } from '../../services/reporting/index.js';
import { bearer, serveApi } from './api.js';
import { RANGE_MS, TENANTS, type Dataset } from './dataset.js';
import { assignmentInsert } from './generated-events.js';
import { fmt, quantile, say, sayTableHeading, secondsSince } from './stats.js';

const USERS = 10;
const LEVELS = [1, 10, 50] as const;
type Level = (typeof LEVELS)[number];
const MODES = ['uncached', 'cached'] as const;

interface LevelResult {
  rps: number;
  p99: number;
  errors: number;
}

export interface LoadTestDeps {
  client: ClickHouseClient;
  config: Config;
  logger: Logger;
  versions: TenantDataVersions;
  names: CampaignNames;
  /** The API without the answer cache, already listening. */
  uncachedBase: string;
  data: Dataset;
  seconds: number;
}

export interface LoadTestResults {
  /** Cached req/s at 10 connections. */
  cachedRps10: number;
  /** Cached ÷ uncached req/s at 10 and at 50 connections. */
  speedup10: number;
  speedup50: number;
  /** Errors answered under load, or a cached answer that differs from the uncached one. */
  failed: boolean;
}

export async function runLoadTest({
  client,
  config,
  logger,
  versions,
  names,
  uncachedBase,
  data,
  seconds,
}: LoadTestDeps): Promise<LoadTestResults> {
  let failed = false;
  const namesBeforeLoad = { ...names.stats };
  const answers = new AnswerCache({ versions, maxEntries: config.api.answerCacheEntries });
  const cached = await serveApi({
    config,
    logger,
    client,
    names,
    answers,
    api: { rateLimitPerMinute: 1_000_000, rateLimitPerTenantPerMinute: 1_000_000, maxRangeDays: 400 },
  });
  const users = Array.from({ length: USERS }, (_, i) => bearer(TENANTS[i % TENANTS.length]!, `dashboard-${i}`));
  const lastMonth = new URLSearchParams({
    from: new Date(data.endMs - RANGE_MS).toISOString(),
    to: new Date(data.endMs - 1).toISOString(),
  });

  /** Events into every tenant's last 30 days twice a second, each write bumping the versions. */
  let written = 0;
  const writes = new Set<Promise<unknown>>();
  const writer = setInterval(() => {
    const first = 10_000_000_000 + written;
    written += 60;
    const write: Promise<unknown> = client
      .command({ query: assignmentInsert({ seed: data.seed, first, count: 60, sliceFromMs: data.endMs - RANGE_MS, sliceMs: RANGE_MS }) })
      .then(() => versions.bump(TENANTS))
      .catch((error: Error) => say(`writer: ${error.message}`))
      .finally(() => void writes.delete(write));
    writes.add(write);
  }, 500);

  async function loadLevel(base: string, connections: number): Promise<LevelResult> {
    const latencies: number[] = [];
    let errors = 0;
    const started = performance.now();
    const until = started + seconds * 1000;
    await Promise.all(
      Array.from({ length: connections }, async (_, worker) => {
        for (let k = worker; performance.now() < until; k += connections) {
          const t0 = performance.now();
          const response = await fetch(`${base}/v1/metrics/campaigns?${lastMonth}`, {
            headers: { authorization: users[k % users.length]! },
          });
          await response.text();
          if (response.status !== 200) errors += 1;
          latencies.push(performance.now() - t0);
        }
      }),
    );
    return { rps: latencies.length / secondsSince(started), p99: quantile(latencies, 0.99), errors };
  }

  try {
    const results = { uncached: new Map<Level, LevelResult>(), cached: new Map<Level, LevelResult>() };
    const baseOf = { uncached: uncachedBase, cached: cached.base };
    say();
    say(`many dashboards: ${USERS} users, campaigns of the last 30 days, ${seconds} s per level, events written twice a second`);
    sayTableHeading('connections', ['req/s', 'p99 ms', 'errors']);
    for (const mode of MODES) {
      for (const connections of LEVELS) {
        const result = await loadLevel(baseOf[mode], connections);
        results[mode].set(connections, result);
        say(`${`${mode}, ${connections}`.padEnd(44)}${fmt(result.rps)}${fmt(result.p99)}${String(result.errors).padStart(8)}`);
        if (result.errors > 0) failed = true;
      }
    }
    clearInterval(writer);
    // The writes still queued behind the queries land (and bump) before the answers are compared.
    await Promise.all([...writes]);
    say(`answer cache: ${answers.stats.hits} hits, ${answers.stats.misses} misses; ${written} events written during the load`);
    say(
      `campaign names kept per data version: ${namesBeforeLoad.hits} hits, ${namesBeforeLoad.loads} reads, ${namesBeforeLoad.rereads} rereads during the measured requests; ${names.stats.hits - namesBeforeLoad.hits} hits, ${names.stats.loads - namesBeforeLoad.loads} reads, ${names.stats.rereads - namesBeforeLoad.rereads} rereads during the load`,
    );
    // Exactness: once the writes stopped, every user's cached answer equals the uncached one.
    let staleAnswers = 0;
    for (const authorization of users) {
      const [a, b] = await Promise.all(
        [uncachedBase, cached.base].map(async (url) => {
          const body = (await (await fetch(`${url}/v1/metrics/campaigns?${lastMonth}`, { headers: { authorization } })).json()) as {
            rows: unknown;
          };
          return JSON.stringify(body.rows);
        }),
      );
      if (a !== b) staleAnswers += 1;
    }
    const rps = (mode: (typeof MODES)[number], level: Level) => results[mode].get(level)!.rps;
    const speedup10 = rps('cached', 10) / rps('uncached', 10);
    const speedup50 = rps('cached', 50) / rps('uncached', 50);
    say(
      `cached ÷ uncached req/s: ${speedup10.toFixed(1)} at 10 connections, ${speedup50.toFixed(1)} at 50; aim ≥ 2 (${speedup10 >= 2 && speedup50 >= 2 ? 'met' : 'missed'}); ${staleAnswers} stale answers after the writes`,
    );
    if (staleAnswers > 0) {
      failed = true;
      say('FAILED: a cached answer differs from the uncached one');
    }
    return { cachedRps10: rps('cached', 10), speedup10, speedup50, failed };
  } finally {
    clearInterval(writer);
    await cached.app.close();
  }
}
