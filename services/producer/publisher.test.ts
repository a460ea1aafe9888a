import { describe, expect, it } from 'vitest';
import { decodeEvent, encodeEvent } from '../events/codec.js';
import { topicNames } from '../events/topics.js';
import type { AssignmentEvent } from '../events/types.js';
import { InvalidEventError, messageKey, produceRequests, PUBLISH_BATCH_BYTES } from './publisher.js';
import { createSimulator } from './simulator.js';

const topics = topicNames('t.');

describe('produceRequests', () => {
  it('splits events by topic, keyed tenant:customer, in order, at most batchSize per request', () => {
    const events = createSimulator({ seed: 5 }).take(2500);
    const requests = [...produceRequests(events, topics, 1000)];
    expect(requests.map((request) => request.reduce((sum, entry) => sum + entry.messages.length, 0))).toEqual([1000, 1000, 500]);
    const sent = requests.flatMap((request) =>
      request.flatMap((entry) => entry.messages.map((message) => ({ topic: entry.topic, message }))),
    );
    const byTopic = (topic: string) =>
      sent.filter((entry) => entry.topic === topic).map((entry) => decodeEvent(entry.message.value as Buffer));
    expect(byTopic(topics.assignments)).toEqual(events.filter((event) => event.type === 'assignment'));
    expect(byTopic(topics.deliveries)).toEqual(events.filter((event) => event.type === 'delivery'));
    const byId = new Map(events.map((event) => [event.eventId, event]));
    const wrongKeys = sent.filter(({ message }) => message.key !== messageKey(byId.get(decodeEvent(message.value as Buffer).eventId)!));
    expect(wrongKeys).toEqual([]);
  });

  it('keeps every request under the broker record-batch limit however the events are keyed', () => {
    const base = createSimulator({ seed: 6 })
      .take(50)
      .find((event): event is AssignmentEvent => event.type === 'assignment')!;
    const large = Array.from({ length: 3000 }, (_, i) => ({
      ...base,
      eventId: `e-${i}`,
      playbookName: 'p'.repeat(500),
      campaignName: 'c'.repeat(500),
    }));
    const requests = [...produceRequests(large, topics, 20_000)];
    expect(requests.length).toBeGreaterThan(3);
    for (const request of requests) {
      const bytes = request
        .flatMap((entry) => entry.messages)
        .reduce((sum, message) => sum + (message.value as Buffer).length + String(message.key).length, 0);
      expect(bytes).toBeLessThanOrEqual(PUBLISH_BATCH_BYTES);
    }
    expect(requests.reduce((sum, request) => sum + request[0]!.messages.length, 0)).toBe(3000);
  });

  it('writes each value as encodeEvent does, also an event larger than a slab', () => {
    const events = createSimulator({ seed: 7 }).take(3000);
    const huge = { ...events.find((event) => event.type === 'delivery')!, eventId: 'huge', reason: 'r'.repeat(200_000) };
    const all = [...events.slice(0, 1500), huge, ...events.slice(1500)];
    const sent = [...produceRequests(all, topics, 20_000)].flat();
    const valuesOf = (topic: string) =>
      sent.filter((entry) => entry.topic === topic).flatMap((entry) => entry.messages.map((m) => m.value as Buffer));
    const encodedOf = (type: string) => all.filter((event) => event.type === type).map((event) => encodeEvent(event));
    expect(valuesOf(topics.assignments)).toEqual(encodedOf('assignment'));
    expect(valuesOf(topics.deliveries)).toEqual(encodedOf('delivery'));
  });

  it('yields nothing for no events', () => {
    expect([...produceRequests([], topics, 10)]).toEqual([]);
  });
});

describe('InvalidEventError', () => {
  it('says how many events are invalid and shows the first ones', () => {
    const error = new InvalidEventError([
      { index: 0, errors: ['eventId: is required'] },
      { index: 4, errors: ['type: is required; expected "assignment" or "delivery"'] },
      { index: 7, errors: ['a'] },
      { index: 9, errors: ['b', 'c'] },
    ]);
    expect(error.message).toBe(
      '4 invalid events, none published: event 0: eventId: is required; event 4: type: is required; expected "assignment" or "delivery"; event 7: a; and 1 more',
    );
    expect(error.invalid).toHaveLength(4);
  });
});
