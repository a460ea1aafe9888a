// Writes deploy/observability/grafana-dashboard.json: one place to change the panels.
// Run: node scripts/observability-dashboard.mjs
import fs from 'node:fs';

const ds = { type: 'prometheus', uid: '${DS_PROMETHEUS}' };
let id = 0;
const row = (title, y) => ({ type: 'row', id: ++id, title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y }, panels: [] });
const panel = (title, y, x, w, targets, unit, description) => ({
  type: 'timeseries',
  id: ++id,
  title,
  description,
  datasource: ds,
  gridPos: { h: 8, w, x, y },
  fieldConfig: { defaults: { unit }, overrides: [] },
  options: { legend: { displayMode: 'table', placement: 'bottom', calcs: ['lastNotNull', 'max'] }, tooltip: { mode: 'multi' } },
  targets: targets.map(([expr, legendFormat], index) => ({ refId: String.fromCharCode(65 + index), datasource: ds, expr, legendFormat })),
});

const panels = [
  row('Ingest', 0),
  panel(
    'Events written per second',
    1,
    0,
    12,
    [
      ['sum by (topic) (rate(sending_metrics_ingest_written_total[5m]))', '{{topic}} written'],
      ['sum by (topic) (rate(sending_metrics_ingest_consumed_total[5m]))', '{{topic}} read'],
    ],
    'ops',
    'Records read from Kafka and events written to ClickHouse',
  ),
  panel(
    'Freshness: seconds behind',
    1,
    12,
    12,
    [['max(sending_metrics_ingest_lag_seconds)', 'counts behind by (worst partition)']],
    's',
    'Everything published more than this long ago is counted (countedThrough)',
  ),
  panel(
    'Lag in records per partition',
    9,
    0,
    12,
    [['sending_metrics_ingest_lag', '{{topic}}/{{partition}}']],
    'short',
    'High watermark minus committed offset',
  ),
  panel(
    'Lag in seconds per partition',
    9,
    12,
    12,
    [['sending_metrics_ingest_lag_seconds', '{{topic}}/{{partition}}']],
    's',
    'Seconds since each partition was last caught up',
  ),
  panel(
    'Batch size (records)',
    17,
    0,
    8,
    [
      ['histogram_quantile(0.5, sum by (le) (rate(sending_metrics_ingest_batch_size_bucket[5m])))', 'p50'],
      ['histogram_quantile(0.95, sum by (le) (rate(sending_metrics_ingest_batch_size_bucket[5m])))', 'p95'],
    ],
    'short',
  ),
  panel(
    'Batch write latency',
    17,
    8,
    8,
    [
      ['histogram_quantile(0.5, sum by (le) (rate(sending_metrics_ingest_write_seconds_bucket[5m])))', 'p50'],
      ['histogram_quantile(0.95, sum by (le) (rate(sending_metrics_ingest_write_seconds_bucket[5m])))', 'p95'],
    ],
    's',
  ),
  panel(
    'Write failures and pauses',
    17,
    16,
    8,
    [
      ['sum(increase(sending_metrics_ingest_write_failures_total[5m]))', 'failed writes (retried)'],
      ['max(sending_metrics_ingest_paused)', 'paused by the invalid-ratio guard'],
    ],
    'short',
  ),
  panel(
    'Dead letters by reason',
    25,
    0,
    12,
    [
      ['sum by (reason) (rate(sending_metrics_ingest_dead_lettered_total[5m]))', '{{reason}}'],
      ['sum(rate(sending_metrics_ingest_dead_letters_truncated_total[5m]))', 'truncated letters'],
    ],
    'ops',
  ),
  panel(
    'Duplicates dropped',
    25,
    12,
    12,
    [['sum by (topic) (rate(sending_metrics_ingest_duplicates_dropped_total[5m]))', '{{topic}}']],
    'ops',
    'Events whose eventId was already counted',
  ),
  row('API', 33),
  panel(
    'API latency by route (p95)',
    34,
    0,
    12,
    [['histogram_quantile(0.95, sum by (le, route) (rate(sending_metrics_http_request_duration_seconds_bucket[5m])))', '{{route}}']],
    's',
  ),
  panel(
    'API errors by route',
    34,
    12,
    12,
    [['sum by (route, status) (rate(sending_metrics_http_request_duration_seconds_count{status=~"[45].."}[5m]))', '{{route}} {{status}}']],
    'reqps',
  ),
  panel(
    'Readiness',
    42,
    0,
    12,
    [['min by (instance, check) (sending_metrics_ready)', '{{instance}} {{check}}']],
    'short',
    '1 ready, 0 not (as /readyz says)',
  ),
  panel(
    'Download jobs',
    42,
    12,
    12,
    [
      ['sum by (state) (sending_metrics_download_jobs)', '{{state}}'],
      ['sum by (status) (increase(sending_metrics_download_jobs_finished_total[5m]))', 'finished: {{status}}'],
    ],
    'short',
  ),
  row('Alerts', 50),
  panel(
    'Alert state changes and notifications',
    51,
    0,
    24,
    [
      ['sum by (to) (increase(sending_metrics_alert_state_changes_total[5m]))', 'to {{to}}'],
      ['sum by (outcome) (increase(sending_metrics_alert_notifications_total[5m]))', 'notification {{outcome}}'],
    ],
    'short',
  ),
];

const dashboard = {
  __inputs: [{ name: 'DS_PROMETHEUS', label: 'Prometheus', type: 'datasource', pluginId: 'prometheus', pluginName: 'Prometheus' }],
  title: 'sending-metrics',
  uid: 'sending-metrics',
  description: 'Ingest, freshness, API and alerts of sending-metrics (every series is one /metrics exports)',
  tags: ['sending-metrics'],
  timezone: 'utc',
  schemaVersion: 39,
  version: 1,
  refresh: '30s',
  time: { from: 'now-6h', to: 'now' },
  templating: { list: [] },
  annotations: { list: [] },
  panels,
};
fs.writeFileSync(new URL('../deploy/observability/grafana-dashboard.json', import.meta.url), `${JSON.stringify(dashboard, null, 2)}\n`);
