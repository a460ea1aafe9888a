import type { ClickHouseClient } from '../../platform/clickhouse.js';
import type { Config } from '../../platform/config.js';
import { topicNames } from '../../events/topics.js';
import { cachedFreshness, type Freshness } from '../../reporting/index.js';

/**
 * The freshness every metrics answer carries: the same for every tenant and request, so the
 * progress table is read at most once a second per process (cachedFreshness), and each answer
 * applies its own `now` (lagSeconds and the state are never older than the request).
 */
export function freshnessSource(clickhouse: ClickHouseClient, config: Config, maxAgeMs = 1000): () => Promise<Freshness> {
  const topics = topicNames(config.topicPrefix);
  const read = cachedFreshness(clickhouse, {
    groupId: config.ingest.groupId,
    staleAfterMs: config.api.freshnessStaleAfterMs,
    topics: [topics.assignments, topics.deliveries],
    maxAgeMs,
  });
  return () => read();
}
