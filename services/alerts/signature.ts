import crypto from 'node:crypto';

/**
 * Webhook signatures, Stripe-style. Every notification carries
 *
 *   Sending-Metrics-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" with the tenant's webhook secret>
 *   Idempotency-Key: <the state change's id, the same on every retry>
 *
 * A receiver recomputes the HMAC over the timestamp, a dot and the raw body bytes, compares it in
 * constant time, refuses a timestamp more than 5 minutes from its clock (replays), and
 * de-duplicates by Idempotency-Key (delivery is at-least-once).
 */

export const SIGNATURE_HEADER = 'sending-metrics-signature';
export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const DEFAULT_TOLERANCE_SECONDS = 300;

export function signatureOf(secret: string, timestampSeconds: number, body: string): string {
  return crypto.createHmac('sha256', secret).update(`${timestampSeconds}.${body}`).digest('hex');
}

export function signatureHeader(secret: string, timestampSeconds: number, body: string): string {
  return `t=${timestampSeconds},v1=${signatureOf(secret, timestampSeconds, body)}`;
}

/** What a receiver does (and the tests do): true when the header is a valid, recent signature of `body`. */
export function verifySignature(
  secret: string,
  header: string | undefined,
  body: string,
  nowSeconds = Math.floor(Date.now() / 1000),
  toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
): boolean {
  if (!header) return false;
  const parts = new Map(
    header.split(',').map((part) => {
      const index = part.indexOf('=');
      return [part.slice(0, index).trim(), part.slice(index + 1).trim()] as const;
    }),
  );
  const timestamp = Number(parts.get('t'));
  const given = parts.get('v1') ?? '';
  if (!Number.isSafeInteger(timestamp) || Math.abs(nowSeconds - timestamp) > toleranceSeconds || !/^[0-9a-f]{64}$/.test(given))
    return false;
  const expected = signatureOf(secret, timestamp, body);
  return crypto.timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(given, 'hex'));
}

/**
 * A tenant's first webhook secret, the same on every replica that derives it: HKDF-SHA256 of
 * `seed` (the deployment's AUTH_JWT_SECRET, which every API replica shares) and the tenant id,
 * `whsec_` + base64url of 32 bytes. So concurrent first PUTs of rules, on any replicas, store and
 * show one secret, without a conditional write. It reveals nothing of the seed (HKDF is one-way).
 */
export function derivedWebhookSecret(seed: string, tenantId: string): string {
  const key = crypto.hkdfSync('sha256', seed, 'sending-metrics alert webhook secret', `tenant:${tenantId}`, 32);
  return `whsec_${Buffer.from(key).toString('base64url')}`;
}

/** A new webhook secret: 32 random bytes, `whsec_` + base64url. */
export function newWebhookSecret(): string {
  return `whsec_${crypto.randomBytes(32).toString('base64url')}`;
}

/** What GET shows of a secret: its last 4 characters. */
export function secretHint(secret: string): string {
  return `…${secret.slice(-4)}`;
}
