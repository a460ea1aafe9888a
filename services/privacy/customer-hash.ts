import crypto from 'node:crypto';

/**
 * What an erasure record keeps of the customer: the hex HMAC-SHA256 of their id under a key
 * derived (HKDF-SHA256, as the alerts' webhook secrets are) from the deployment's AUTH_JWT_SECRET
 * and the tenant. The same customer gives the same hash on every replica, so a second request can be
 * recognised; without the secret nobody can test a guessed id against it.
 */
export function customerHash(secret: string, tenantId: string, customerId: string): string {
  const key = crypto.hkdfSync('sha256', secret, 'sending-metrics privacy erasure customer hash', `tenant:${tenantId}`, 32);
  return crypto.createHmac('sha256', Buffer.from(key)).update(customerId, 'utf8').digest('hex');
}
