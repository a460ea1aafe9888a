import { describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '../platform/clickhouse.js';
import { TenantDataVersions } from './answer-cache.js';
import { CampaignNames, campaignKey, compareUtf8 } from './campaign-names.js';

/** A client whose names query answers the current `rows` of each tenant, counting the reads. */
function fakeClient(rows: Record<string, Array<[string, string, string, string]>>) {
  const reads: string[] = [];
  const client = {
    query: async ({ query_params }: { query_params: { tenantId: string } }) => {
      reads.push(query_params.tenantId);
      const answer = [...(rows[query_params.tenantId] ?? [])];
      return { json: async () => answer };
    },
  } as unknown as ClickHouseClient;
  return { client, reads };
}

describe('CampaignNames', () => {
  it('reads a tenant’s names once per data version, and again after a write', async () => {
    const rows = { a: [['pb-1', 'cm-1', 'Onboarding', 'Welcome'] as [string, string, string, string]] };
    const { client, reads } = fakeClient(rows);
    const versions = new TenantDataVersions();
    const names = new CampaignNames(versions);
    const key = campaignKey('pb-1', 'cm-1');
    expect((await names.of(client, 'a', [key])).get(key)).toEqual({ playbookName: 'Onboarding', campaignName: 'Welcome' });
    expect((await names.of(client, 'a', [key])).get(key)?.campaignName).toBe('Welcome');
    expect(reads).toEqual(['a']);
    rows.a = [['pb-1', 'cm-1', 'Onboarding', 'Renamed']];
    versions.bump(['b']);
    expect((await names.of(client, 'a', [key])).get(key)?.campaignName).toBe('Welcome');
    versions.bump(['a']);
    expect((await names.of(client, 'a', [key])).get(key)?.campaignName).toBe('Renamed');
    expect(names.stats).toEqual({ hits: 2, loads: 2, rereads: 0 });
  });

  it('reads again when a counted campaign has no name, once per version for one that never had one', async () => {
    const rows: Record<string, Array<[string, string, string, string]>> = { a: [['pb-1', 'cm-1', 'P', 'C']] };
    const { client, reads } = fakeClient(rows);
    const names = new CampaignNames(new TenantDataVersions());
    await names.of(client, 'a', [campaignKey('pb-1', 'cm-1')]);
    // A campaign counted that the kept names lack (its write not bumped yet): read again.
    rows.a!.push(['pb-1', 'cm-2', 'P', 'New']);
    expect((await names.of(client, 'a', [campaignKey('pb-1', 'cm-2')])).get(campaignKey('pb-1', 'cm-2'))?.campaignName).toBe('New');
    // Messages without a campaign are never named: one read finds that, later lookups keep it.
    const none = campaignKey('', '');
    expect((await names.of(client, 'a', [none])).has(none)).toBe(false);
    expect((await names.of(client, 'a', [none])).has(none)).toBe(false);
    expect(reads).toHaveLength(3);
    expect(names.stats).toEqual({ hits: 1, loads: 1, rereads: 2 });
  });

  it('orders texts by their UTF-8 bytes, as the engine does', () => {
    expect(['b', 'a', 'B', '\u{1F600}', '\uFF5E'].sort(compareUtf8)).toEqual(['B', 'a', 'b', '\uFF5E', '\u{1F600}']);
  });

  it('compareUtf8 orders as the UTF-8 bytes do, surrogate pairs and U+E000-FFFF included', () => {
    const alphabet = [
      'a',
      'B',
      'é',
      '\u00ff',
      '\u0800',
      '\ud7ff',
      '\ue000',
      '\uff5e',
      '\uffff',
      '\u{10000}',
      '\u{1F600}',
      '\u{10FFFF}',
      '',
    ];
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const text = () => Array.from({ length: Math.floor(next() * 4) }, () => alphabet[Math.floor(next() * alphabet.length)]).join('');
    const sign = (n: number) => (n < 0 ? -1 : n > 0 ? 1 : 0);
    for (let i = 0; i < 20_000; i += 1) {
      const [a, b] = [text(), text()];
      expect(sign(compareUtf8(a, b)), `${JSON.stringify(a)} ${JSON.stringify(b)}`).toBe(
        sign(Buffer.compare(Buffer.from(a), Buffer.from(b))),
      );
    }
  });
});
