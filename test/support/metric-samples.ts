import type { Registry } from 'prom-client';

/** The current samples of one metric of a prom-client registry (empty when it is not registered). */
export async function metricSamples(
  registry: Registry,
  name: string,
): Promise<{ labels: Record<string, string | number>; value: number }[]> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return [];
  const { values } = await metric.get();
  return values.map((v) => ({ labels: v.labels as Record<string, string | number>, value: v.value }));
}
