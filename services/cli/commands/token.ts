import { UsageError, type Command } from '../command.js';
import { loadConfig } from '../../platform/config.js';
import { resolveJwtSecret } from '../../api/auth/secret.js';
import { parseScopeList, SCOPES, UNSCOPED_TOKEN_SCOPES } from '../../api/auth/scopes.js';
import { MAX_TOKEN_TTL_MS, MAX_TOKEN_TTL_TEXT, signToken } from '../../api/auth/tokens.js';
import { parseTtl } from '../ttl.js';
import { messageOf } from '../../platform/errors.js';

export const tokenCommand: Command = {
  summary: 'print a bearer token for the API',
  usage: `token --tenant T [--user U] [--ttl 1h] (at most ${MAX_TOKEN_TTL_TEXT}) [--scope "${UNSCOPED_TOKEN_SCOPES.join(' ')}"] (any of: ${SCOPES.join(' ')})`,
  options: {
    tenant: { type: 'string' },
    user: { type: 'string' },
    ttl: { type: 'string' },
    scope: { type: 'string' },
  },
  async run(values) {
    const tenant = values.tenant;
    if (typeof tenant !== 'string' || tenant === '') throw new UsageError('--tenant is required');
    let ttlMs: number;
    try {
      ttlMs = parseTtl(typeof values.ttl === 'string' ? values.ttl : '1h', MAX_TOKEN_TTL_MS, MAX_TOKEN_TTL_TEXT);
    } catch (error) {
      throw new UsageError(messageOf(error));
    }
    let scopes;
    try {
      scopes = parseScopeList(typeof values.scope === 'string' ? values.scope : UNSCOPED_TOKEN_SCOPES.join(' '));
    } catch (error) {
      throw new UsageError(`--scope: ${messageOf(error)}`);
    }
    const config = loadConfig();
    const { secret } = resolveJwtSecret(config);
    try {
      console.log(signToken(secret, { tenantId: tenant, userId: typeof values.user === 'string' ? values.user : 'dev', scopes }, ttlMs));
    } catch (error) {
      throw new UsageError(messageOf(error));
    }
    return 0;
  },
};
