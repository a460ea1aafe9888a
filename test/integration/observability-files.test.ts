import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ROOT, startCli, waitForExit } from '../support/cli.js';

/**
 * deploy/observability: every metric the Grafana dashboard and the Prometheus rules use is one a
 * running service exports, and the rule file has the shape Prometheus loads (checked by parsing:
 * promtool is not installable from the package registries here).
 */

const DIR = path.join(ROOT, 'deploy/observability');
const METRIC = /\bsending_metrics_[a-z0-9_]+/g;

/** Names a scrape can match: every TYPE line's name, plus the series histograms and summaries add. */
function exportedNames(metrics: string): Set<string> {
  const names = new Set<string>();
  for (const match of metrics.matchAll(/^# TYPE (\S+) (\w+)$/gm)) {
    const [, name, type] = match as unknown as [string, string, string];
    names.add(name);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(`${name}${suffix}`);
  }
  return names;
}

function balanced(expr: string): boolean {
  let depth = 0;
  for (const char of expr) {
    if ('([{'.includes(char)) depth += 1;
    if (')]}'.includes(char)) depth -= 1;
    if (depth < 0) return false;
  }
  return depth === 0;
}

interface Rule {
  alert?: string;
  expr?: unknown;
  for?: unknown;
  labels?: Record<string, unknown>;
  annotations?: Record<string, unknown>;
}

describe('observability files', () => {
  it('use only metrics a running service exports, and the rules have the shape Prometheus loads', async () => {
    const dashboard = JSON.parse(fs.readFileSync(path.join(DIR, 'grafana-dashboard.json'), 'utf8')) as {
      panels: Array<{ type: string; title: string; targets?: Array<{ expr: string }> }>;
    };
    const rules = parse(fs.readFileSync(path.join(DIR, 'prometheus-rules.yml'), 'utf8')) as {
      groups: Array<{ name: string; rules: Rule[] }>;
    };

    const dashboardExprs = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr));
    expect(dashboardExprs.length).toBeGreaterThan(15);
    const ruleList = rules.groups.flatMap((group) => group.rules);
    expect(ruleList.length).toBeGreaterThanOrEqual(8);
    for (const group of rules.groups) expect(group.name).toMatch(/^[\w-]+$/);
    const alertNames = new Set<string>();
    for (const rule of ruleList) {
      expect(rule.alert, JSON.stringify(rule)).toMatch(/^[A-Z][A-Za-z0-9]+$/);
      expect(alertNames.has(rule.alert!), rule.alert).toBe(false);
      alertNames.add(rule.alert!);
      expect(typeof rule.expr, rule.alert).toBe('string');
      expect(balanced(rule.expr as string), rule.alert).toBe(true);
      if (rule.for !== undefined) expect(rule.for, rule.alert).toMatch(/^\d+[smh]$/);
      expect(['warning', 'critical'], rule.alert).toContain(rule.labels?.severity);
      expect(typeof rule.annotations?.summary, rule.alert).toBe('string');
    }
    for (const expr of dashboardExprs) expect(balanced(expr), expr).toBe(true);
    // The list: ingest rate, lag in records and seconds, batch sizes, write latency, dead
    // letters by reason, freshness, API latency and errors by route, download jobs; rules for lag
    // growing, no commits, the dead-letter ratio, /readyz failing, write failures.
    const all = [...dashboardExprs, ...ruleList.map((rule) => rule.expr as string)].join('\n');
    for (const needed of [
      'sending_metrics_ingest_written_total',
      'sending_metrics_ingest_lag',
      'sending_metrics_ingest_lag_seconds',
      'sending_metrics_ingest_batch_size_bucket',
      'sending_metrics_ingest_write_seconds_bucket',
      'sending_metrics_ingest_dead_lettered_total',
      'sending_metrics_http_request_duration_seconds_bucket',
      'sending_metrics_download_jobs',
      'sending_metrics_ingest_last_commit_seconds',
      'sending_metrics_ready',
      'sending_metrics_ingest_write_failures_total',
    ])
      expect(all.match(METRIC), needed).toContain(needed);

    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-observability-'));
    const { child, url } = await startCli(['run'], {
      PORT: '0',
      DATA_DIR: dataDir,
      TOPIC_PREFIX: `observability-${Date.now()}.`,
      LOG_LEVEL: 'warn',
    });
    let metrics: string;
    try {
      metrics = await (await fetch(`${url}/metrics`)).text();
    } finally {
      child.kill('SIGTERM');
    }
    expect(await waitForExit(child, 60_000)).toBe(0);
    const exported = exportedNames(metrics);
    const used = new Set(all.match(METRIC));
    const missing = [...used].filter((name) => !exported.has(name));
    expect(missing, `used but not exported: ${missing.join(', ')}`).toEqual([]);
    expect(metrics).toMatch(/^sending_metrics_ready\{check="clickhouse"\} 1$/m);
  });
});
