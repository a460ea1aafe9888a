import { spawnSync } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT } from '../support/cli.js';

const script = path.join(ROOT, 'deploy/kafka/kafka.sh');
const servers: net.Server[] = [];
afterEach(() => servers.splice(0).forEach((server) => server.close()));

function listen(server: net.Server): Promise<number> {
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

function startBrokerOn(port: number) {
  const started = Date.now();
  const result = spawnSync('bash', [script, 'start'], {
    env: { ...process.env, KAFKA_PORT: String(port), KAFKA_CONTROLLER_PORT: String(port + 1), DATA_DIR: '/tmp/sm-port-test' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { ...result, seconds: (Date.now() - started) / 1000 };
}

describe('the local broker script when the port is held by something that is not Kafka', () => {
  it('an HTTP server on the port: a clear error within seconds', async () => {
    const port = await listen(http.createServer((_req, res) => res.end('hello')));
    const result = startBrokerOn(port);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`port ${port} is held by something that is not a Kafka broker`));
    expect(result.seconds).toBeLessThan(15);
  });

  it('a server that accepts and never answers: a clear error within seconds, not a hang', async () => {
    const port = await listen(net.createServer(() => undefined));
    const result = startBrokerOn(port);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/gave no Kafka answer/);
    expect(result.seconds).toBeLessThan(15);
  });
});
