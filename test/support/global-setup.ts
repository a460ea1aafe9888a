import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';

/**
 * Gives the tests a real Kafka broker (and says which):
 *  - KAFKA_BROKERS set: that cluster;
 *  - a Docker engine answering: testcontainers' Kafka module (and ClickHouse server);
 *  - otherwise: the project's own single-node broker from deploy/kafka, started if needed.
 * Whatever this setup starts, it stops at the end.
 */
const root = path.resolve(import.meta.dirname, '../..');
let stop: (() => Promise<void>) | undefined;

function dockerAnswers(): boolean {
  const result = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: 5000, encoding: 'utf8' });
  return result.status === 0 && result.stdout.trim() !== '';
}

export async function setup(): Promise<void> {
  let brokers = process.env.KAFKA_BROKERS;
  if (brokers) {
    console.log(`[test setup] Kafka: existing cluster at ${brokers}`);
  } else if (process.env.TEST_USE_TESTCONTAINERS !== '0' && dockerAnswers()) {
    const { KafkaContainer } = await import('@testcontainers/kafka');
    const { ClickHouseContainer } = await import('@testcontainers/clickhouse');
    const kafka = await new KafkaContainer('confluentinc/cp-kafka:7.9.0').withKraft().withExposedPorts(9093).start();
    brokers = `${kafka.getHost()}:${kafka.getMappedPort(9093)}`;
    const clickhouse = await new ClickHouseContainer('clickhouse/clickhouse-server:25.8').start();
    process.env.CLICKHOUSE_URL = clickhouse.getConnectionUrl();
    console.log(`[test setup] Kafka: testcontainers at ${brokers}; ClickHouse: testcontainers server`);
    stop = async () => {
      await kafka.stop();
      await clickhouse.stop();
    };
  } else {
    const script = path.join(root, 'deploy/kafka/kafka.sh');
    const alreadyUp = spawnSync('bash', [script, 'status'], { stdio: 'ignore' }).status === 0;
    execFileSync('bash', [script, 'start'], { stdio: 'inherit' });
    brokers = `127.0.0.1:${process.env.KAFKA_PORT ?? '9092'}`;
    console.log(`[test setup] Kafka: native Apache Kafka broker at ${brokers}${alreadyUp ? ' (already running, reused)' : ''}`);
    if (!alreadyUp && process.env.TEST_KEEP_KAFKA !== '1') {
      stop = async () => {
        execFileSync('bash', [script, 'stop'], { stdio: 'inherit' });
      };
    }
  }
  console.log(`[test setup] ClickHouse: ${process.env.CLICKHOUSE_URL ? 'server' : 'embedded chDB (one engine per test process)'}`);
  process.env.KAFKA_BROKERS = brokers;
}

export async function teardown(): Promise<void> {
  await stop?.();
}
