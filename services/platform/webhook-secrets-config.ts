import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, type Env } from './config-parse.js';

/** A tenant's secrets for the provider webhooks; a provider without one is refused for the tenant (401). */
export interface TenantWebhookSecrets {
  /** The Twilio account's Auth Token: the HMAC-SHA1 key of X-Twilio-Signature. */
  twilioAuthToken?: string;
  /**
   * Twilio SharedKeys (Webhook Settings), key id → secret: a callback whose
   * X-Twilio-Webhooks-Signature-Settings names a key (`key=<id>,algorithm=HMAC_SHA256`) is
   * checked with that key's secret and algorithm. More than one while a key is rotated.
   */
  twilioSharedKeys?: ReadonlyMap<string, string>;
  /** The SendGrid Signed Event Webhook's verification key: base64 DER (SubjectPublicKeyInfo) of an ECDSA P-256 key. */
  sendgridPublicKey?: crypto.KeyObject;
}

const SECRETS_FORM =
  'a JSON object of tenant → {"twilioAuthToken": "…", "twilioSharedKeys": {"<key id>": "…"}, "sendgridPublicKey": "<base64 DER>"} (any key may be left out)';

/**
 * What a tenant id may be: the ids a bearer token can name (services/api/auth/tokens.ts checks
 * the same rule when it signs and verifies a token). Secrets for any other id could never be used.
 */
export const TENANT_ID_PATTERN = /^[A-Za-z0-9._:-]{1,200}$/;
export const TENANT_ID_RULE = 'letters, digits, ".", "_", ":", "-"; 1-200 characters';

/**
 * WEBHOOK_SECRETS_FILE (a path) or WEBHOOK_SECRETS (the JSON itself): each tenant's provider
 * secrets. Errors name the variable, the tenant and the key, never a value.
 */
export function webhookSecrets(env: Env): Map<string, TenantWebhookSecrets> {
  const file = env.WEBHOOK_SECRETS_FILE;
  const inline = env.WEBHOOK_SECRETS;
  if (file !== undefined && inline !== undefined) {
    throw new ConfigError('WEBHOOK_SECRETS_FILE and WEBHOOK_SECRETS are both set; expected one of them');
  }
  const variable = file !== undefined ? 'WEBHOOK_SECRETS_FILE' : 'WEBHOOK_SECRETS';
  let text: string;
  if (file !== undefined) {
    try {
      text = fs.readFileSync(path.resolve(file), 'utf8');
    } catch (error) {
      throw new ConfigError(
        `WEBHOOK_SECRETS_FILE=${JSON.stringify(file)} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}); expected a readable JSON file`,
      );
    }
  } else if (inline !== undefined && inline.trim() !== '') {
    text = inline;
  } else {
    return new Map();
  }
  const refuse = (problem: string): never => {
    throw new ConfigError(`${variable}: ${problem}; expected ${SECRETS_FORM}`);
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    refuse('is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) refuse('is not a JSON object');
  const secrets = new Map<string, TenantWebhookSecrets>();
  for (const [tenant, entry] of Object.entries(parsed as Record<string, unknown>)) {
    const where = `tenant ${JSON.stringify(tenant.slice(0, 100))}`;
    if (!TENANT_ID_PATTERN.test(tenant)) refuse(`${where} is not a tenant id (${TENANT_ID_RULE}, as in a token)`);
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) refuse(`${where} is not an object`);
    const { twilioAuthToken, twilioSharedKeys, sendgridPublicKey, ...rest } = entry as Record<string, unknown>;
    const unknown = Object.keys(rest)[0];
    if (unknown !== undefined) refuse(`${where} has an unknown key ${JSON.stringify(unknown.slice(0, 100))}`);
    const tenantSecrets: TenantWebhookSecrets = {};
    if (twilioAuthToken !== undefined) {
      if (typeof twilioAuthToken !== 'string' || twilioAuthToken.trim() === '')
        refuse(`${where}: twilioAuthToken is not a non-empty string`);
      tenantSecrets.twilioAuthToken = twilioAuthToken as string;
    }
    if (twilioSharedKeys !== undefined) {
      if (typeof twilioSharedKeys !== 'object' || twilioSharedKeys === null || Array.isArray(twilioSharedKeys))
        refuse(`${where}: twilioSharedKeys is not an object of key id → secret`);
      const shared = new Map<string, string>();
      for (const [id, value] of Object.entries(twilioSharedKeys as Record<string, unknown>)) {
        if (id.trim() === '' || typeof value !== 'string' || value.trim() === '')
          refuse(`${where}: twilioSharedKeys[${JSON.stringify(id.slice(0, 100))}] is not a non-empty string`);
        shared.set(id, value as string);
      }
      tenantSecrets.twilioSharedKeys = shared;
    }
    if (sendgridPublicKey !== undefined) {
      if (typeof sendgridPublicKey !== 'string') refuse(`${where}: sendgridPublicKey is not a string`);
      let key: crypto.KeyObject | undefined;
      try {
        key = crypto.createPublicKey({ key: Buffer.from(sendgridPublicKey as string, 'base64'), format: 'der', type: 'spki' });
      } catch {
        key = undefined;
      }
      if (key?.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
        refuse(`${where}: sendgridPublicKey is not a base64 DER (SubjectPublicKeyInfo) ECDSA P-256 public key`);
      }
      tenantSecrets.sendgridPublicKey = key;
    }
    secrets.set(tenant, tenantSecrets);
  }
  return secrets;
}
