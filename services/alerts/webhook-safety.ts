import dns from 'node:dns';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { DomainError } from '../platform/errors.js';

/**
 * Webhook URLs may not reach inside the network the service runs in: https only, and no
 * resolved address in a loopback, private, link-local (which holds the cloud metadata address
 * 169.254.169.254), unique-local, carrier-grade NAT (Alibaba's metadata 100.100.100.200),
 * multicast, unspecified or reserved range — unless ALERTS_ALLOW_PRIVATE_WEBHOOKS allows them
 * (tests and local development), which also allows http. The rule is checked when a rule is
 * saved (a 400 saying why) and again at every connection (the lookup below), so a name that
 * resolves elsewhere later (DNS rebinding) is still refused.
 */

/** ipaddr.js range names (IPv4 and IPv6); anything else ('unicast', 'global…') may be called. */
const BLOCKED_RANGES = new Set([
  'unspecified',
  'broadcast',
  'multicast',
  'linkLocal',
  'loopback',
  'carrierGradeNat',
  'private',
  'reserved',
  'as112',
  'amt',
  'uniqueLocal',
  'ipv4Mapped',
  'deprecatedSiteLocal',
  'discard',
  'rfc6145',
  'rfc6052',
  '6to4',
  'teredo',
  'benchmarking',
  'as112v6',
  'deprecatedOrchid',
  'orchid2',
  'droneRemoteIdProtocolEntityTags',
  'segmentRouting',
]);

/**
 * The IPv4 address an IPv6 address carries in a form that reaches it: IPv4-compatible (::/96,
 * deprecated, `[::127.0.0.1]` is written `[::7f00:1]`), IPv4-mapped (::ffff:0:0/96), SIIT
 * (::ffff:0:0:0/96), NAT64 with the well-known prefix (64:ff9b::/96) and 6to4 (2002::/16).
 */
function embeddedIPv4(address: ipaddr.IPv6): { form: string; ipv4: ipaddr.IPv4 } | undefined {
  const p = address.parts;
  const last32 = () => new ipaddr.IPv4([p[6]! >> 8, p[6]! & 0xff, p[7]! >> 8, p[7]! & 0xff]);
  const zero = (from: number, to: number) => p.slice(from, to).every((part) => part === 0);
  // :: and ::1 are the unspecified and loopback addresses, not IPv4-compatible ones.
  if (zero(0, 6) && !(p[6] === 0 && p[7]! <= 1)) return { form: 'IPv4-compatible', ipv4: last32() };
  if (zero(0, 5) && p[5] === 0xffff) return { form: 'IPv4-mapped', ipv4: last32() };
  if (zero(0, 4) && p[4] === 0xffff && p[5] === 0) return { form: 'SIIT', ipv4: last32() };
  if (p[0] === 0x64 && p[1] === 0xff9b && zero(2, 6)) return { form: 'NAT64', ipv4: last32() };
  if (p[0] === 0x2002) return { form: '6to4', ipv4: new ipaddr.IPv4([p[1]! >> 8, p[1]! & 0xff, p[2]! >> 8, p[2]! & 0xff]) };
  return undefined;
}

/**
 * Why an address may not be called, or undefined when it may (for the log: the answers to clients
 * say only that it is not allowed). An IPv6 form that carries an IPv4 address is judged by the
 * range of that IPv4 address; the deprecated IPv4-compatible form is refused whatever it holds.
 */
export function blockedAddressReason(address: string): string | undefined {
  if (!ipaddr.isValid(address)) return `${address} is not an IP address`;
  const parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6') {
    const inside = embeddedIPv4(parsed as ipaddr.IPv6);
    if (inside) {
      const range = inside.ipv4.range();
      if (BLOCKED_RANGES.has(range)) return `${address} is a ${range} address (${inside.form}, IPv4 ${inside.ipv4.toString()})`;
      if (inside.form === 'IPv4-compatible') return `${address} is an IPv4-compatible address (deprecated)`;
      return undefined;
    }
  }
  const range = parsed.range();
  return BLOCKED_RANGES.has(range) ? `${address} is a ${range} address` : undefined;
}

/** What a refused webhook URL is told: that it is not allowed, never what its host resolves to. */
export const NOT_ALLOWED =
  'is not allowed: its host must resolve to public addresses only (ALERTS_ALLOW_PRIVATE_WEBHOOKS=true allows others for local development)';

/** A webhook URL refused before it is saved: the message says why, `details.field` where it is in the body. */
export class WebhookUrlError extends DomainError {
  override name = 'WebhookUrlError';
  constructor(problem: string, field: string) {
    super('invalid', 'ALERT_WEBHOOK_URL_REFUSED', problem, { field });
  }
}

/**
 * Checks a webhook URL before it is saved: scheme, and every address its host resolves to.
 * `field` is where the URL is in the request body (`rules[2].webhookUrl`), for the refusal.
 */
export async function checkWebhookUrl(raw: string, allowPrivate: boolean, field = 'webhookUrl'): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookUrlError('is not an absolute URL', field);
  }
  if (url.username || url.password) throw new WebhookUrlError('must not carry credentials; the notifications are signed instead', field);
  if (url.protocol !== 'https:' && !(allowPrivate && url.protocol === 'http:'))
    throw new WebhookUrlError(`must use https (${url.protocol.replace(':', '')} is refused)`, field);
  if (allowPrivate) return url;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  // One answer whether the host does not resolve or resolves to an internal address, so that the
  // check tells nothing of the internal network's names.
  let addresses: string[];
  if (ipaddr.isValid(host)) addresses = [host];
  else {
    try {
      addresses = (await dns.promises.lookup(host, { all: true })).map((entry) => entry.address);
    } catch {
      throw new WebhookUrlError(NOT_ALLOWED, field);
    }
  }
  if (addresses.length === 0 || addresses.some((address) => blockedAddressReason(address) !== undefined)) {
    throw new WebhookUrlError(NOT_ALLOWED, field);
  }
  return url;
}

/** A lookup for http(s).request that refuses blocked addresses at connection time. */
export function safeLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '', 0);
      const list = addresses as unknown as dns.LookupAddress[];
      if (!allowPrivate) {
        for (const entry of list) {
          const reason = blockedAddressReason(entry.address);
          if (reason) return callback(Object.assign(new Error('refused: the address is not allowed'), { code: 'EBLOCKED' }), '', 0);
        }
      }
      if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list);
      const first = list[0]!;
      callback(null, first.address, first.family);
    });
  };
}
