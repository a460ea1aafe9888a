import net from 'node:net';
import { pipeline, Transform, type Readable } from 'node:stream';
import { Kafka, logLevel, type ISocketFactory } from 'kafkajs';
import type { DownloadStorage } from '../../services/downloads/index.js';
import type { ClickHouseClient } from '../../services/platform/clickhouse.js';
import type { Config } from '../../services/platform/config.js';

let runs = 0;

/**
 * The configuration with a download-requests topic and a workers' group of their own (test files
 * run side by side on one broker: a worker of another file would take this file's requests).
 */
export function ownDownloadTopic(config: Config, name: string): Config {
  runs += 1;
  const run = `${name}-${Date.now()}-${runs}`;
  return { ...config, topicPrefix: `${run}.`, downloads: { ...config.downloads, groupId: `${run}-workers` } };
}

/**
 * The parts of one download worker's process that can die at once (crash()), as far as the rest
 * of the deployment can tell the way a kill -9 would: its Kafka connections are cut and no new
 * one opens (no heartbeats, no commits: the group drops it after its session timeout), its
 * ClickHouse writes never land (its running job's lease is no longer renewed), and its uploads
 * stop where they are. Reads still answer, so that the replica's API keeps showing what the other
 * workers record. bury() then fails the frozen writes (a dead process's never land), so that the
 * service can be stopped at the end of the test.
 */
export class SimulatedCrash {
  readonly kafka: Kafka;
  private dead = false;
  private readonly sockets = new Set<net.Socket>();
  private readonly gates = new Set<Transform>();
  private buried: () => void = () => undefined;
  private readonly graveyard = new Promise<void>((resolve) => (this.buried = resolve));

  constructor(config: Pick<Config, 'kafkaBrokers'>, clientId: string) {
    const socketFactory: ISocketFactory = ({ host, port, onConnect }) => {
      if (this.dead) {
        const socket = new net.Socket();
        process.nextTick(() => socket.destroy(new Error('simulated crash: the process is gone')));
        return socket;
      }
      const socket = net.connect({ host, port }, onConnect);
      socket.setKeepAlive(true, 60_000);
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      return socket;
    };
    // The settings of services/platform/kafka.ts, quiet (a dead member's retries are expected noise).
    this.kafka = new Kafka({
      clientId,
      brokers: config.kafkaBrokers,
      connectionTimeout: 3000,
      requestTimeout: 30000,
      retry: { initialRetryTime: 200, retries: 8, maxRetryTime: 5000 },
      logLevel: logLevel.NOTHING,
      socketFactory,
    });
  }

  /** The process dies: its connections go, its writes and uploads stop. */
  crash(): void {
    this.dead = true;
    for (const socket of this.sockets) socket.destroy();
  }

  /** After crash(): the writes it left frozen fail now, so that what is left of it can be stopped. */
  bury(): void {
    this.buried();
    for (const gate of this.gates) gate.destroy(new Error('simulated crash: the upload never finished'));
  }

  /** `client` with inserts that never land once the process died. */
  clickhouse(client: ClickHouseClient): ClickHouseClient {
    return new Proxy(client, {
      get: (target, property, receiver) => {
        if (property === 'insert') {
          return async (params: Parameters<ClickHouseClient['insert']>[0]) => {
            if (this.dead) {
              await this.graveyard;
              throw new Error('simulated crash: the write never landed');
            }
            return target.insert(params);
          };
        }
        const value = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }

  /** `inner` with writes that stop sending once the process died. */
  storage(inner: DownloadStorage): DownloadStorage {
    const write = (tenantId: string, id: string, source: Readable, signal: AbortSignal) => {
      const gate = new Transform({
        transform: (chunk: Buffer, _encoding, callback) => {
          // After the crash nothing more goes through, and the stream never calls back.
          if (!this.dead) callback(null, chunk);
        },
      });
      this.gates.add(gate);
      pipeline(source, gate, () => this.gates.delete(gate));
      return inner.write(tenantId, id, gate, signal);
    };
    return {
      get description() {
        return inner.description;
      },
      prepare: () => inner.prepare(),
      write,
      open: (tenantId, id) => inner.open(tenantId, id),
      remove: (tenantId, id) => inner.remove(tenantId, id),
      locator: (tenantId, id) => inner.locator(tenantId, id),
      check: () => inner.check(),
    };
  }
}
