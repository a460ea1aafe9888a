import { describe, expect, it } from 'vitest';
import { createSimulator } from '../../services/producer/simulator.js';
import { recordWriter } from '../../services/events/record-writer.js';
import { loadSchemaRegistry } from '../../services/events/schema-registry.js';
import type { DeliveryEvent } from '../../services/events/types.js';

const registry = loadSchemaRegistry();

/** What avsc writes for the record, and what the generated writer writes (undefined: it left the record to avsc). */
function both(schema: { type: Parameters<typeof recordWriter>[0] }, record: object): { avsc: Buffer; ours: Buffer | undefined } {
  const writer = recordWriter(schema.type)!;
  const avsc = schema.type.toBuffer(record);
  const target = Buffer.alloc(avsc.length + 64, 0xee);
  const end = writer(record as Record<string, unknown>, target, 3);
  return { avsc, ours: end < 0 ? undefined : target.subarray(3, end) };
}

describe('generated record writer', () => {
  it('writes every schema of this build', () => {
    for (const schema of registry.schemas) expect(recordWriter(schema.type), schema.file).toBeDefined();
  });

  it('writes the bytes avsc writes for simulated events', () => {
    const differing = createSimulator({ seed: 11 })
      .take(5000)
      .filter((event) => {
        const { avsc, ours } = both(registry.get(event.type, 1), event);
        return !ours?.equals(avsc);
      });
    expect(differing).toEqual([]);
  });

  const delivery = createSimulator({ seed: 12 })
    .take(50)
    .find((event): event is DeliveryEvent => event.type === 'delivery')!;

  it.each([
    ['a short non-ASCII string', { customerId: 'cliente-ñandú' }],
    ['a 63-character ASCII string', { customerId: 'c'.repeat(63) }],
    ['a 64-character ASCII string', { customerId: 'c'.repeat(64) }],
    ['a long ASCII string', { reason: 'r'.repeat(1000) }],
    ['a long non-ASCII string', { reason: 'déjà vu — '.repeat(80) }],
    ['a lone surrogate in a short string', { reason: 'bad \ud800 pair' }],
    ['a lone surrogate in a long string', { reason: `${'x'.repeat(70)}\udc00` }],
    ['an emoji', { reason: 'spam 📨' }],
    ['nulls in every optional field', { playbookId: null, campaignId: null, reason: null }],
    ['an empty string', { reason: '' }],
    ['the last instant of the window', { occurredAt: '2099-12-31T23:59:59.999Z' }],
  ])('writes %s as avsc does', (_, change) => {
    for (const version of [1, 2]) {
      const record = version === 2 ? { ...delivery, provider: 'twilio', ...change } : { ...delivery, ...change };
      const { avsc, ours } = both(registry.get('delivery', version), record);
      expect(ours).toEqual(avsc);
    }
  });

  it.each([
    ['an instant with an offset', { occurredAt: '2026-11-27T11:15:00.123+01:00' }],
    ['a status not in the enum', { status: 'opened' }],
    ['a number for a string', { customerId: 7 }],
    ['a missing optional field', { reason: undefined }],
  ])('leaves %s to avsc', (_, change) => {
    const writer = recordWriter(registry.get('delivery', 1).type)!;
    expect(writer({ ...delivery, ...change } as Record<string, unknown>, Buffer.alloc(4096), 0)).toBe(-1);
  });

  it('says when the record does not fit, wherever it stops', () => {
    const schema = registry.get('delivery', 1);
    const writer = recordWriter(schema.type)!;
    const length = schema.type.toBuffer(delivery).length;
    for (let room = 0; room < length; room++) {
      expect(writer(delivery as unknown as Record<string, unknown>, Buffer.alloc(room), 0), `room ${room}`).toBe(-1);
    }
    expect(writer(delivery as unknown as Record<string, unknown>, Buffer.alloc(length), 0)).toBe(length);
  });
});
