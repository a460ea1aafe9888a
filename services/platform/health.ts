import { Gauge, type Registry } from 'prom-client';
/**
 * Readiness of the process's dependencies. Each component registers a check; /readyz runs
 * them all and reports each by name, so an operator sees which dependency is failing.
 */
export interface HealthCheckResult {
  ok: boolean;
  detail?: string;
}

export type HealthCheck = () => Promise<HealthCheckResult>;

export class Readiness {
  private readonly checks = new Map<string, HealthCheck>();

  register(name: string, check: HealthCheck): void {
    this.checks.set(name, check);
  }

  async report(timeoutMs = 2000): Promise<{ ok: boolean; checks: Record<string, HealthCheckResult> }> {
    const entries = await Promise.all(
      [...this.checks].map(async ([name, check]) => {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<HealthCheckResult>((resolve) => {
          timer = setTimeout(() => resolve({ ok: false, detail: `no answer within ${timeoutMs} ms` }), timeoutMs);
        });
        try {
          const result = await Promise.race([check().catch((error: Error) => ({ ok: false, detail: error.message })), timeout]);
          return [name, result] as const;
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    const checks = Object.fromEntries(entries);
    return { ok: entries.every(([, result]) => result.ok), checks };
  }

  /**
   * Exports `sending_metrics_ready{check}` (1 ready, 0 not) to `registry`, evaluated at every
   * scrape, so alert rules see what /readyz sees.
   */
  exportTo(registry: Registry): void {
    const checks = () => this.report();
    new Gauge({
      name: 'sending_metrics_ready',
      help: 'Readiness of each dependency as /readyz reports it (1 ready, 0 not), evaluated at scrape time',
      labelNames: ['check'],
      registers: [registry],
      async collect() {
        const report = await checks();
        this.reset();
        for (const [name, result] of Object.entries(report.checks)) this.set({ check: name }, result.ok ? 1 : 0);
      },
    });
  }
}
