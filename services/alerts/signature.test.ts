import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { newWebhookSecret, secretHint, signatureHeader, verifySignature } from './signature.js';
import { blockedAddressReason, checkWebhookUrl } from './webhook-safety.js';
import { MAX_RETRY_DELAY_MS, retryDelayMs } from './notifier.js';

describe('signatures', () => {
  it('signs t.body with HMAC-SHA256, Stripe-style, and verifies only the same body, secret and a recent time', () => {
    const secret = newWebhookSecret();
    const body = '{"id":"alrt_1","state":{"before":"ok","after":"warning"}}';
    const header = signatureHeader(secret, 1_800_000_000, body);
    const expected = crypto.createHmac('sha256', secret).update(`1800000000.${body}`).digest('hex');
    expect(header).toBe(`t=1800000000,v1=${expected}`);
    expect(verifySignature(secret, header, body, 1_800_000_100)).toBe(true);
    expect(verifySignature(secret, header, `${body} `, 1_800_000_100)).toBe(false);
    expect(verifySignature(`${secret}x`, header, body, 1_800_000_100)).toBe(false);
    expect(verifySignature(secret, header, body, 1_800_000_301)).toBe(false);
    expect(verifySignature(secret, undefined, body)).toBe(false);
    expect(verifySignature(secret, 't=1800000000,v1=zz', body, 1_800_000_000)).toBe(false);
    expect(secretHint(secret)).toBe(`…${secret.slice(-4)}`);
    expect(secretHint(secret)).not.toContain(secret.slice(0, 10));
  });
});

describe('webhook safety', () => {
  it('names the range of every address a webhook may not reach', () => {
    for (const [address, range] of [
      ['127.0.0.1', 'loopback'],
      ['169.254.169.254', 'linkLocal'],
      ['10.1.2.3', 'private'],
      ['192.168.0.1', 'private'],
      ['172.16.5.4', 'private'],
      ['100.100.100.200', 'carrierGradeNat'],
      ['0.0.0.0', 'unspecified'],
      ['::1', 'loopback'],
      ['fd00:ec2::254', 'uniqueLocal'],
      ['fe80::1', 'linkLocal'],
      ['::ffff:127.0.0.1', 'loopback'],
      ['224.0.0.1', 'multicast'],
    ]) {
      expect(blockedAddressReason(address!), address).toMatch(new RegExp(`^${address!.replace(/\./g, '\\.')} is a ${range} address`));
    }
    expect(blockedAddressReason('93.184.215.14')).toBeUndefined();
    expect(blockedAddressReason('2606:4700::1111')).toBeUndefined();
  });

  it('judges the IPv4 address inside IPv4-mapped, -compatible, SIIT, NAT64 and 6to4 forms by its own range', () => {
    for (const [address, range] of [
      ['::7f00:1', 'loopback'],
      ['::127.0.0.1', 'loopback'],
      ['::a9fe:a9fe', 'linkLocal'],
      ['::ffff:a9fe:a9fe', 'linkLocal'],
      ['::ffff:0:a00:1', 'private'],
      ['64:ff9b::7f00:1', 'loopback'],
      ['64:ff9b::a9fe:a9fe', 'linkLocal'],
      ['2002:a00:1::1', 'private'],
      ['2002:7f00:1::', 'loopback'],
    ]) {
      expect(blockedAddressReason(address!), address).toMatch(new RegExp(`is a ${range} address`));
    }
    // The IPv4-compatible form is deprecated: refused whatever it holds; local-use NAT64 and Teredo too.
    for (const address of ['::808:808', '64:ff9b:1::a00:1', '2001::1']) expect(blockedAddressReason(address), address).toBeDefined();
    // A public IPv4 address through NAT64 (an IPv6-only cluster's DNS64) or 6to4 may be called.
    expect(blockedAddressReason('64:ff9b::808:808')).toBeUndefined();
    expect(blockedAddressReason('2002:808:808::1')).toBeUndefined();
    expect(blockedAddressReason('::ffff:808:808')).toBeUndefined();
  });

  it('the refusal says "not allowed" and nothing of what the host resolves to', async () => {
    for (const url of [
      'https://[::127.0.0.1]/hook',
      'https://[::7f00:1]/hook',
      'https://[::ffff:169.254.169.254]/',
      'https://[64:ff9b::a9fe:a9fe]/',
      'https://localhost/hook',
      'https://no-such-host.invalid/hook',
      'https://169.254.169.254/latest',
    ]) {
      const error = await checkWebhookUrl(url, false).then(
        () => undefined,
        (refused: Error) => refused,
      );
      expect(error?.message, url).toBe(
        'is not allowed: its host must resolve to public addresses only (ALERTS_ALLOW_PRIVATE_WEBHOOKS=true allows others for local development)',
      );
    }
  });

  it('refuses http, credentials and internal hosts unless private webhooks are allowed', async () => {
    await expect(checkWebhookUrl('http://169.254.169.254/latest/meta-data', false)).rejects.toThrow(/must use https/);
    await expect(checkWebhookUrl('https://169.254.169.254/', false)).rejects.toThrow(/^is not allowed/);
    await expect(checkWebhookUrl('https://127.0.0.1/hook', false)).rejects.toThrow(/^is not allowed/);
    await expect(checkWebhookUrl('https://[::1]/hook', false)).rejects.toThrow(/^is not allowed/);
    await expect(checkWebhookUrl('https://localhost/hook', false)).rejects.toThrow(/^is not allowed/);
    await expect(checkWebhookUrl('https://user:pw@example.com/', false)).rejects.toThrow(/credentials/);
    await expect(checkWebhookUrl('not a url', false)).rejects.toThrow(/not an absolute URL/);
    await expect(checkWebhookUrl('http://127.0.0.1:9/hook', true)).resolves.toBeInstanceOf(URL);
    await expect(checkWebhookUrl('ftp://127.0.0.1/', true)).rejects.toThrow(/must use https/);
  });
});

describe('retry delays', () => {
  it('double per attempt with jitter between half and all, capped at an hour', () => {
    expect(retryDelayMs(1, 1000, () => 0)).toBe(500);
    expect(retryDelayMs(1, 1000, () => 1)).toBe(1000);
    expect(retryDelayMs(4, 1000, () => 1)).toBe(8000);
    expect(retryDelayMs(40, 1000, () => 1)).toBe(MAX_RETRY_DELAY_MS);
    expect(retryDelayMs(40, 1000, () => 0)).toBe(MAX_RETRY_DELAY_MS / 2);
  });
});
