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
      expect(blockedAddressReason(address!), address).toBe(`${address} is a ${range} address`);
    }
    expect(blockedAddressReason('93.184.215.14')).toBeUndefined();
    expect(blockedAddressReason('2606:4700::1111')).toBeUndefined();
  });

  it('refuses http, credentials and internal hosts unless private webhooks are allowed', async () => {
    await expect(checkWebhookUrl('http://169.254.169.254/latest/meta-data', false)).rejects.toThrow(/must use https/);
    await expect(checkWebhookUrl('https://169.254.169.254/', false)).rejects.toThrow(/169.254.169.254 is a linkLocal address/);
    await expect(checkWebhookUrl('https://127.0.0.1/hook', false)).rejects.toThrow(/127.0.0.1 is a loopback address/);
    await expect(checkWebhookUrl('https://[::1]/hook', false)).rejects.toThrow(/::1 is a loopback address/);
    await expect(checkWebhookUrl('https://localhost/hook', false)).rejects.toThrow(/loopback/);
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
