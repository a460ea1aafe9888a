import { pino } from 'pino';
import { UsageError, type Command } from '../command.js';
import { createApiKey, describeApiKey, listApiKeys, revokeApiKey } from '../../api/auth/api-keys.js';
import { openClickHouse } from '../../platform/clickhouse.js';
import { loadConfig, TENANT_ID_PATTERN } from '../../platform/config.js';
import { messageOf } from '../../platform/errors.js';
import { createLogger } from '../../platform/logger.js';

/**
 * `sending-metrics api-key create|list|revoke`: producers' API keys (events:write only, one tenant
 * each). `create` prints the key once (only its hash is stored); `list` never shows a secret;
 * `revoke` takes effect on every API replica within API_KEYS_REFRESH_MS. Needs ClickHouse (with the
 * embedded engine, stop the service first: one process at a time opens its data).
 */

const KEY_ID = /^[0-9a-f]{16}$/;

function tenantOf(values: Record<string, string | boolean | undefined>): string {
  const tenant = values.tenant;
  if (typeof tenant !== 'string' || tenant === '') throw new UsageError('--tenant is required');
  if (!TENANT_ID_PATTERN.test(tenant)) throw new UsageError(`--tenant ${JSON.stringify(tenant)} is not a valid tenant id`);
  return tenant;
}

export const apiKeyCommand: Command = {
  summary:
    "producers' API keys (events:write only): create one for a tenant (printed once), list a tenant's keys (never their secrets), revoke one",
  usage: 'api-key create --tenant T [--name N] | list --tenant T | revoke --id ID',
  allowPositionals: true,
  options: {
    tenant: { type: 'string' },
    name: { type: 'string' },
    id: { type: 'string' },
  },
  async run(values, positionals) {
    const [action, ...extra] = positionals;
    if ((action !== 'create' && action !== 'list' && action !== 'revoke') || extra.length > 0) {
      throw new UsageError(`expected create, list or revoke, got ${JSON.stringify(positionals.join(' '))}`);
    }
    const tenant = action === 'revoke' ? undefined : tenantOf(values);
    const keyId = typeof values.id === 'string' ? values.id : undefined;
    if (action === 'revoke' && (keyId === undefined || !KEY_ID.test(keyId))) {
      throw new UsageError('--id is required: the key id that `api-key list` shows (16 hex digits)');
    }
    const config = loadConfig();
    const clickhouse = await openClickHouse(config, createLogger('error', pino.destination(2)));
    try {
      if (action === 'create') {
        const name = typeof values.name === 'string' ? values.name : '';
        const { key, info } = await createApiKey(clickhouse.client, tenant!, name);
        console.error(`API key ${info.keyId} of tenant ${info.tenantId} (events:write only). It is shown this once; store it now:`);
        console.log(key);
      } else if (action === 'list') {
        const keys = await listApiKeys(clickhouse.client, tenant!);
        if (keys.length === 0) console.error(`tenant ${tenant} has no API keys`);
        for (const info of keys) console.log(describeApiKey(info));
      } else {
        const info = await revokeApiKey(clickhouse.client, keyId!);
        if (!info) {
          console.error(`no API key ${keyId}`);
          return 1;
        }
        console.log(
          `revoked ${info.keyId} of tenant ${info.tenantId}; every API replica refuses it within ${config.auth.apiKeysRefreshMs} ms (API_KEYS_REFRESH_MS)`,
        );
      }
      return 0;
    } catch (error) {
      const message = messageOf(error);
      if (/UNKNOWN_TABLE|api_keys.*does not exist|doesn't exist/i.test(message)) {
        console.error('the api_keys table does not exist yet: run `npx sending-metrics migrate` (or start the service once) first');
        return 1;
      }
      throw error;
    } finally {
      await clickhouse.close();
    }
  },
};
