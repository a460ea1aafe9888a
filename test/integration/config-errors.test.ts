import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../services/platform/config.js';
import { runCli } from '../support/cli.js';

const EVENT = {
  type: 'assignment',
  eventId: 'rf-1',
  tenantId: 'acme',
  occurredAt: '2026-11-27T10:15:00.123Z',
  customerId: 'c-1',
  playbookId: 'pb-1',
  playbookName: 'Onboarding',
  campaignId: 'cm-1',
  campaignName: 'Welcome',
  action: 'entered',
};

describe('a wrong configuration value stops the process with one line naming the variable', () => {
  const cases: [string, Record<string, string>, RegExp][] = [
    ['PORT=abc', { PORT: 'abc' }, /^configuration error: PORT="abc" is not a whole number; expected an integer from 0 to 65535$/],
    [
      'CLICKHOUSE_URL=not-a-url',
      { CLICKHOUSE_URL: 'not-a-url' },
      /^configuration error: CLICKHOUSE_URL="not-a-url" is not a URL; expected an absolute URL/,
    ],
    [
      'KAFKA_BROKERS empty',
      { KAFKA_BROKERS: '' },
      /^configuration error: KAFKA_BROKERS="" is empty; expected a comma-separated list of host:port/,
    ],
    [
      'KAFKA_BROKERS without a port',
      { KAFKA_BROKERS: 'kafka-1' },
      /^configuration error: KAFKA_BROKERS="kafka-1" has an invalid entry "kafka-1"/,
    ],
    [
      'TOPIC_REPLICATION_FACTOR=0',
      { TOPIC_REPLICATION_FACTOR: '0' },
      /^configuration error: TOPIC_REPLICATION_FACTOR="0" is out of range; expected an integer from 1 to 100$/,
    ],
    [
      'INGEST_INSTANCE_ID with a space',
      { INGEST_INSTANCE_ID: 'slot 0' },
      /^configuration error: INGEST_INSTANCE_ID="slot 0" has characters Kafka rejects in a client id; expected letters, digits/,
    ],
    ['LOG_LEVEL unknown', { LOG_LEVEL: 'loud' }, /^configuration error: LOG_LEVEL="loud" is not a log level; expected one of/],
    [
      'a short AUTH_JWT_SECRET is not echoed',
      { AUTH_JWT_SECRET: 'hunter2' },
      /^configuration error: AUTH_JWT_SECRET is too short; expected at least 32 characters/,
    ],
  ];
  for (const [name, env, message] of cases) {
    it(name, async () => {
      const result = await runCli(['run'], { ...env, DATA_DIR: '/tmp/sm-config-test' });
      expect(result.code).not.toBe(0);
      const lines = result.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(message);
      expect(result.stderr).not.toContain('hunter2');
    });
  }

  it('WEBHOOK_SECRETS naming a tenant id no token can name: exit 78, one line naming it, no secret', async () => {
    const secrets = JSON.stringify({ acme: { twilioAuthToken: 'tok-acme-1' }, 'acme corp/eu': { twilioAuthToken: 'tok-hunter2' } });
    const result = await runCli(['run'], { WEBHOOK_SECRETS: secrets, DATA_DIR: '/tmp/sm-config-test' });
    expect(result.code).toBe(78);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^configuration error: WEBHOOK_SECRETS: tenant "acme corp\/eu" is not a tenant id \(letters, digits/);
    expect(result.stderr).not.toContain('hunter2');
  });

  it('HOST that is not a host name or an IP address: exit 78, one line naming it', async () => {
    for (const host of ['not a host', '[::1]', 'http://example.com']) {
      const result = await runCli(['run'], { HOST: host, DATA_DIR: '/tmp/sm-config-test' });
      expect(result.code, host).toBe(78);
      const lines = result.stderr.trim().split('\n');
      expect(lines, host).toHaveLength(1);
      expect(lines[0]).toMatch(/^configuration error: HOST=".*" is not a host name or IP address; expected .*without brackets/);
    }
  });

  it('an IPv6 HOST without PUBLIC_URL: the default PUBLIC_URL brackets it (localhost for an unspecified address), no crash', async () => {
    const result = await runCli(['token', '--tenant', 'acme'], { HOST: '::', PUBLIC_URL: undefined, DATA_DIR: '/tmp/sm-config-test' });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const base = { DATA_DIR: '/tmp/sm-config-test' };
    expect(loadConfig({ ...base, HOST: '::1', PORT: '9090' }).alerts.publicUrl).toBe('http://[::1]:9090/');
    expect(loadConfig({ ...base, HOST: '::' }).alerts.publicUrl).toBe('http://localhost:8080/');
    expect(loadConfig({ ...base, HOST: '0.0.0.0' }).alerts.publicUrl).toBe('http://localhost:8080/');
    expect(loadConfig({ ...base, HOST: '10.1.2.3' }).alerts.publicUrl).toBe('http://10.1.2.3:8080/');
    expect(loadConfig({ ...base, HOST: 'api.internal' }).alerts.publicUrl).toBe('http://api.internal:8080/');
    expect(loadConfig({ ...base, HOST: '::', PUBLIC_URL: 'https://metrics.example.com/' }).alerts.publicUrl).toBe(
      'https://metrics.example.com/',
    );
    expect(() => loadConfig({ ...base, HOST: 'fe80::1%eth0' })).toThrow(
      /^HOST="fe80::1%eth0" cannot form the default PUBLIC_URL; expected PUBLIC_URL set/,
    );
  });

  it('a password in CLICKHOUSE_URL never appears in the error', async () => {
    const result = await runCli(['run'], { CLICKHOUSE_URL: 'ftp://user:s3cret@host:9000' });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('CLICKHOUSE_URL');
    expect(result.stderr).not.toContain('s3cret');
  });
});

describe('a setting the cluster cannot honour', () => {
  it('TOPIC_REPLICATION_FACTOR larger than the broker count: produce stops with one line naming it, exit 78', async () => {
    const file = path.join(os.tmpdir(), `sm-rf-${Date.now()}.ndjson`);
    fs.writeFileSync(file, `${JSON.stringify(EVENT)}\n`);
    const result = await runCli(['produce', '--file', file], { TOPIC_REPLICATION_FACTOR: '3', TOPIC_PREFIX: `rf-${Date.now()}.` });
    fs.rmSync(file, { force: true });
    expect(result.code).toBe(78);
    expect(result.stderr.trim()).toMatch(
      /^configuration error: TOPIC_REPLICATION_FACTOR=3 is larger than the 1 broker\(s\) of the cluster; expected at most 1$/,
    );
  });
});

describe('command line', () => {
  it('an unknown command prints usage and exits 2', async () => {
    const result = await runCli(['frobnicate']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown command "frobnicate"');
    expect(result.stderr).toContain('usage: sending-metrics <command>');
  });

  it('an unknown option prints usage and exits 2', async () => {
    const result = await runCli(['run', '--colour', 'blue']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("Unknown option '--colour'");
    expect(result.stderr).toContain('usage: sending-metrics run');
  });

  it('an unknown role is refused', async () => {
    const result = await runCli(['run', '--role', 'everything']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--role "everything" is not one of all, ingest, api, alerts');
  });

  it('a ClickHouse server that cannot be reached at start: one plain line, exit 1, no password, JSON logs only', async () => {
    const result = await runCli(['run', '--role', 'api'], {
      CLICKHOUSE_URL: 'http://reader:hunter2-secret@127.0.0.1:1',
      PORT: '0',
      DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'sm-unreachable-')),
    });
    expect(result.code).toBe(1);
    const plain = result.stderr.split('\n').filter((line) => line !== '' && !line.startsWith('{'));
    expect(plain).toEqual(['sending-metrics could not start: connect ECONNREFUSED 127.0.0.1:1']);
    expect(`${result.stdout}${result.stderr}`).not.toContain('hunter2');
  });
});
