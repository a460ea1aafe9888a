import { randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { UsageError, type Command } from '../command.js';
import { kafkaFailure, openCommandPublisher } from '../cli-publisher.js';
import { createProgress, describeRate } from '../progress.js';
import { createSimulator, INCIDENT_KINDS, INCIDENTS, SIMULATOR_DEFAULTS, type IncidentKind } from '../../producer/simulator.js';

/**
 * `simulate --rate N --duration SECONDS`: live simulated traffic at N events/s. Every tick
 * publishes what is due by the clock since the start — rate × elapsed, less what is out — so
 * the rate never drifts, and a slow broker holds the loop back (each publish is awaited) and
 * is caught up on afterwards. Ctrl-C stops after the publish in progress. `--incident KIND` makes
 * the first tenant's first campaign go bad a third of the way through the run.
 */
const TICK_MS = 100;
const PROGRESS_EVERY_MS = 5000;

const stderr = (line: string): void => void process.stderr.write(`${line}\n`);

function wholeNumber(
  values: Record<string, string | boolean | undefined>,
  name: string,
  fallback: number | undefined,
  max: number,
): number {
  const raw = values[name];
  if (raw === undefined && fallback !== undefined) return fallback;
  if (typeof raw !== 'string') throw new UsageError(`--${name} is required`);
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < 1 || value > max)
    throw new UsageError(`--${name} must be a whole number from 1 to ${max}, got ${JSON.stringify(raw)}`);
  return value;
}

function seconds(values: Record<string, string | boolean | undefined>, name: string, max: number): number {
  const raw = values[name];
  if (typeof raw !== 'string') throw new UsageError(`--${name} is required`);
  const value = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || value <= 0 || value > max)
    throw new UsageError(`--${name} must be a number of seconds above 0 and at most ${max}, got ${JSON.stringify(raw)}`);
  return value;
}

function incidentKind(raw: string | boolean | undefined): IncidentKind | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw === 'string' && (INCIDENT_KINDS as string[]).includes(raw)) return raw as IncidentKind;
  throw new UsageError(`--incident must be one of ${INCIDENT_KINDS.join(', ')}, got ${JSON.stringify(raw)}`);
}

export const simulateCommand: Command = {
  summary: `publish realistic traffic: customers enter and exit campaigns, messages move through statuses (a healthy sender; --incident KIND makes the first tenant's first campaign go bad a third of the way in: ${INCIDENT_KINDS.map((kind) => `${kind}, ${INCIDENTS[kind]}`).join('; ')})`,
  usage: `simulate --rate N --duration SECONDS [--tenants N] [--campaigns N] [--seed N] [--incident ${INCIDENT_KINDS.join('|')}]`,
  options: {
    rate: { type: 'string' },
    duration: { type: 'string' },
    tenants: { type: 'string' },
    campaigns: { type: 'string' },
    seed: { type: 'string' },
    incident: { type: 'string' },
  },
  async run(values) {
    const rate = wholeNumber(values, 'rate', undefined, 1_000_000);
    const duration = seconds(values, 'duration', 7 * 86_400);
    const tenants = wholeNumber(values, 'tenants', SIMULATOR_DEFAULTS.tenants, 10_000);
    const campaigns = wholeNumber(values, 'campaigns', SIMULATOR_DEFAULTS.campaigns, 10_000);
    const seed = values.seed === undefined ? randomInt(2 ** 31) : wholeNumber(values, 'seed', undefined, 2 ** 31 - 1);
    const kind = incidentKind(values.incident);
    const total = Math.round(rate * duration);
    const { config, publisher } = openCommandPublisher('sending-metrics-simulate');
    const incident = kind ? { kind, afterEvents: Math.floor(total / 3) } : undefined;
    const simulator = createSimulator({ seed, tenants, campaigns, clock: Date.now, incident });

    const stop = new AbortController();
    const interrupt = (): void => stop.abort();
    process.once('SIGINT', interrupt);
    process.once('SIGTERM', interrupt);
    let published = 0;
    let start = performance.now();
    try {
      await publisher.connect();
      start = performance.now();
      stderr(
        `simulating ${total} events at ${rate} events/s for ${duration} s: ${tenants} tenants, ${campaigns} campaigns each, seed ${seed}${kind ? `; ${kind} incident in the first campaign of the first tenant after ${incident?.afterEvents} events: ${INCIDENTS[kind]}` : ''}`,
      );
      const progress = createProgress(stderr, PROGRESS_EVERY_MS);
      let tick = 0;
      while (published < total && !stop.signal.aborted) {
        // The next tick boundary still ahead: boundaries are fixed from the start, so sleeps never add up to drift.
        tick = Math.max(tick + 1, Math.floor((performance.now() - start) / TICK_MS) + 1);
        await sleep(start + tick * TICK_MS - performance.now(), undefined, { signal: stop.signal }).catch(() => undefined);
        if (stop.signal.aborted) break;
        const due = Math.min(total, Math.floor((rate * (performance.now() - start)) / 1000));
        // At most a second's worth per publish, so a long stall is caught up on in bounded steps.
        const count = Math.min(due - published, rate);
        if (count <= 0) continue;
        await publisher.publish(simulator.take(count));
        published += count;
        progress.report(() => `published ${describeRate(published, performance.now() - start)}`);
      }
    } catch (error) {
      stderr(kafkaFailure(config, error));
      stderr(`published ${published} of ${total} events before the failure`);
      return 1;
    } finally {
      process.removeListener('SIGINT', interrupt);
      process.removeListener('SIGTERM', interrupt);
      await publisher.disconnect();
    }
    console.log(`published ${describeRate(published, performance.now() - start)}`);
    if (stop.signal.aborted) {
      stderr(`interrupted after ${published} of ${total} events`);
      return 130;
    }
    return 0;
  },
};
