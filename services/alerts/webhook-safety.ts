import dns from 'node:dns';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

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

/** Why an address may not be called, or undefined when it may. */
export function blockedAddressReason(address: string): string | undefined {
  if (!ipaddr.isValid(address)) return `${address} is not an IP address`;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  const range = parsed.range();
  return BLOCKED_RANGES.has(range) ? `${address} is a ${range} address` : undefined;
}

export class WebhookUrlError extends Error {
  override name = 'WebhookUrlError';
}

/** Checks a webhook URL before it is saved: scheme, and every address its host resolves to. */
export async function checkWebhookUrl(raw: string, allowPrivate: boolean): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookUrlError('is not an absolute URL');
  }
  if (url.username || url.password) throw new WebhookUrlError('must not carry credentials; the notifications are signed instead');
  if (url.protocol !== 'https:' && !(allowPrivate && url.protocol === 'http:'))
    throw new WebhookUrlError(`must use https (${url.protocol.replace(':', '')} is refused)`);
  if (allowPrivate) return url;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  let addresses: string[];
  if (ipaddr.isValid(host)) addresses = [host];
  else {
    try {
      addresses = (await dns.promises.lookup(host, { all: true })).map((entry) => entry.address);
    } catch {
      throw new WebhookUrlError(`its host ${host} does not resolve`);
    }
  }
  for (const address of addresses) {
    const reason = blockedAddressReason(address);
    if (reason)
      throw new WebhookUrlError(
        `its host ${host} resolves to ${reason}, which webhooks may not reach (ALERTS_ALLOW_PRIVATE_WEBHOOKS=true allows it for local development)`,
      );
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
          if (reason) return callback(Object.assign(new Error(`refused: ${hostname} resolves to ${reason}`), { code: 'EBLOCKED' }), '', 0);
        }
      }
      if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list);
      const first = list[0]!;
      callback(null, first.address, first.family);
    });
  };
}
