import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../../platform/config.js';

/**
 * The HS256 signing secret: AUTH_JWT_SECRET, or in development a random secret generated
 * once and kept in DATA_DIR/auth/jwt-secret (mode 0600) so tokens survive restarts.
 */
export function resolveJwtSecret(config: Pick<Config, 'authJwtSecret' | 'dataDir'>): { secret: string; generated: boolean } {
  if (config.authJwtSecret) return { secret: config.authJwtSecret, generated: false };
  const file = path.join(config.dataDir, 'auth', 'jwt-secret');
  try {
    return { secret: fs.readFileSync(file, 'utf8').trim(), generated: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const secret = crypto.randomBytes(48).toString('base64url');
  try {
    fs.writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    return { secret, generated: true };
  } catch (error) {
    // Another process created it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return { secret: fs.readFileSync(file, 'utf8').trim(), generated: true };
    throw error;
  }
}
