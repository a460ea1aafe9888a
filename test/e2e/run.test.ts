import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, startCli, waitForExit } from '../support/cli.js';

describe('sending-metrics run (the pipeline as `make run` starts it)', () => {
  it('becomes ready, answers health, readiness, metrics and docs, and stops gracefully on SIGTERM', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-run-'));
    const { child, url, token, output } = await startCli(['run'], {
      PORT: '0',
      DATA_DIR: dataDir,
      TOPIC_PREFIX: `run-${Date.now()}.`,
      LOG_LEVEL: 'info',
      INGEST_LAG_REFRESH_MS: '300',
    });
    try {
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      // Ready means the ingest has joined its group and owns its partitions, which can follow the
      // banner (printed once the API listens) by a few seconds.
      let ready = await fetch(`${url}/readyz`);
      for (const until = Date.now() + 60_000; ready.status !== 200 && Date.now() < until; ready = await fetch(`${url}/readyz`)) {
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      const readyBody = (await ready.json()) as { checks: Record<string, { ok: boolean }> };
      expect(ready.status, JSON.stringify(readyBody)).toBe(200);
      expect(Object.keys(readyBody.checks).sort()).toEqual(['alerts', 'clickhouse', 'ingest', 'kafka']);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toContain('sending_metrics_ingest_consumed_total');
      expect(metrics).toContain('sending_metrics_http_request_duration_seconds');
      expect((await fetch(`${url}/docs/json`)).status).toBe(200);
      // Caught up (nothing published yet): the answers say so, from what the ingest recorded.
      const outreach = `${url}/v1/metrics/outreach?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z`;
      const freshness = async () =>
        ((await (await fetch(outreach, { headers: { authorization: `Bearer ${token}` } })).json()) as { freshness: { state: string } })
          .freshness;
      let fresh = await freshness();
      for (const until = Date.now() + 30_000; fresh.state !== 'current' && Date.now() < until; fresh = await freshness()) {
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(fresh).toMatchObject({ state: 'current', lagEvents: 0, countedThrough: expect.any(String) });
      expect(await (await fetch(`${url}/metrics`)).text()).toContain('sending_metrics_ingest_lag_seconds');
      // Logs are pino JSON lines and never carry the token.
      const jsonLines = output()
        .split('\n')
        .filter((line) => line.startsWith('{'));
      expect(jsonLines.length).toBeGreaterThan(0);
      for (const line of jsonLines) expect(() => JSON.parse(line)).not.toThrow();
      expect(jsonLines.join('\n')).not.toContain(token!);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await waitForExit(child, 60_000)).toBe(0);
    expect(output()).toContain('ingest stopped');
  });

  it('SIGTERM while a client holds a request open: the process ends it after SHUTDOWN_GRACE_MS and exits', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-run-shutdown-'));
    const { child, url, token, output } = await startCli(['run'], {
      PORT: '0',
      DATA_DIR: dataDir,
      TOPIC_PREFIX: `shutdown-${Date.now()}.`,
      SHUTDOWN_GRACE_MS: '1000',
      LOG_LEVEL: 'warn',
    });
    const { port } = new URL(url!);
    // A client that announces a body and never sends all of it: its request stays in flight.
    const client = net.connect(Number(port), '127.0.0.1');
    client.on('error', () => undefined);
    const clientClosed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));
    client.write(
      `POST /v1/downloads HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"export":`,
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    child.kill('SIGTERM');
    // Without a deadline the process waits for this client forever.
    expect(await waitForExit(child, 60_000)).toBe(0);
    await clientClosed;
    expect(output()).toContain('shutdown deadline reached');
  });

  it('while Kafka cannot be reached the API still answers and /readyz names the failing dependency', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-run-nokafka-'));
    const { child, url } = await startCli(['run'], { PORT: '0', DATA_DIR: dataDir, KAFKA_BROKERS: '127.0.0.1:1', LOG_LEVEL: 'error' });
    try {
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(503);
      const body = (await ready.json()) as { checks: Record<string, { ok: boolean; detail?: string }> };
      expect(body.checks.clickhouse).toEqual({ ok: true });
      expect(body.checks.kafka?.ok).toBe(false);
      expect(body.checks.ingest).toEqual({ ok: false, detail: expect.stringMatching(/^(connecting to Kafka: |not consuming)/) });
    } finally {
      child.kill('SIGTERM');
    }
    expect(await waitForExit(child, 60_000)).toBe(0);
  });

  it('an ingest-only process answers /readyz and /metrics on its own port', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-run-ingest-'));
    const { child, output } = await startCli(['run', '--role', 'ingest'], {
      PORT: '0',
      DATA_DIR: dataDir,
      TOPIC_PREFIX: `ingest-role-${Date.now()}.`,
      LOG_LEVEL: 'warn',
    });
    try {
      const readyz = /readiness: (\S+)/.exec(output())?.[1];
      expect(readyz).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/readyz$/);
      let status = 0;
      for (let i = 0; i < 100 && status !== 200; i += 1) {
        status = (await fetch(readyz!)).status;
        if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(status).toBe(200);
      expect(await (await fetch(readyz!.replace('/readyz', '/metrics'))).text()).toContain('sending_metrics_ingest_consumed_total');
      expect((await fetch(readyz!.replace('/readyz', '/v1/metrics/outreach'))).status).toBe(404);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await waitForExit(child, 60_000)).toBe(0);
  });

  it('a second start of the local broker reuses the one that is running', () => {
    const result = spawnSync('bash', [path.join(ROOT, 'deploy/kafka/kafka.sh'), 'start'], { encoding: 'utf8' });
    if (process.env.KAFKA_BROKERS && !process.env.KAFKA_BROKERS.startsWith('127.0.0.1:9092')) return;
    expect(result.status).toBe(0);
    expect(result.stderr).toContain('reusing it');
  });
});
