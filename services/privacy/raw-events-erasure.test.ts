import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { customerMatch, mutationTarget, newErasureToken } from './raw-events-erasure.js';

describe('raw events erasure', () => {
  it('mutates the table itself on one server, ON CLUSTER with a cluster, and each shard’s local table when sharded', () => {
    expect(mutationTarget('delivery_events', { clickhouseCluster: undefined, clickhouseSharding: 'none' })).toBe('delivery_events');
    expect(mutationTarget('delivery_events', { clickhouseCluster: 'c', clickhouseSharding: 'none' })).toBe(
      'delivery_events ON CLUSTER `c`',
    );
    expect(mutationTarget('assignment_events', { clickhouseCluster: 'c`x', clickhouseSharding: 'tenant' })).toBe(
      'assignment_events_local ON CLUSTER `c\\`x`',
    );
  });

  it('tokens are erased- and 128 random bits; a match names the customer by a keyed SHA-256 only', () => {
    const tokens = new Set(Array.from({ length: 100 }, newErasureToken));
    expect(tokens.size).toBe(100);
    for (const token of tokens) expect(token).toMatch(/^erased-[0-9a-f]{32}$/);
    const match = customerMatch('ann@example.com');
    expect(JSON.stringify(match)).not.toContain('ann');
    expect(match.digest).toBe(crypto.createHash('sha256').update(`${match.key}ann@example.com`).digest('hex'));
    expect(customerMatch('ann@example.com').key).not.toBe(match.key);
  });
});
