import { Registry, collectDefaultMetrics } from 'prom-client';

/** One Prometheus registry per process, shared by the ingest and the api; served at /metrics. */
export function createPrometheusRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'sending_metrics_process_' });
  return registry;
}

export type { Registry };
