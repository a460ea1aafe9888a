import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

/**
 * `token --scope` and `api-key create|list|revoke` as an operator runs them, each its own process
 * on one DATA_DIR (the embedded engine: one process at a time).
 */

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sm-auth-cli-'));
const env = { DATA_DIR: dataDir, AUTH_JWT_SECRET: 'auth-cli-secret-auth-cli-secret-0123456789', CLICKHOUSE_URL: undefined };
const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;

afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

describe('token --scope', () => {
  it('signs metrics:read by default and the scopes asked for; an unknown scope is a usage error (exit 2) naming it', async () => {
    const plain = await runCli(['token', '--tenant', 'acme'], env);
    expect(plain.code, plain.stderr).toBe(0);
    expect(claimsOf(plain.stdout.trim()).scope).toBe('metrics:read');
    const writer = await runCli(['token', '--tenant', 'acme', '--scope', 'events:write metrics:read'], env);
    expect(writer.code, writer.stderr).toBe(0);
    expect(claimsOf(writer.stdout.trim()).scope).toBe('metrics:read events:write');
    const unknown = await runCli(['token', '--tenant', 'acme', '--scope', 'metrics:read metrics:write'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toMatch(/--scope: unknown scope "metrics:write"; the scopes are metrics:read, events:write, alerts:write/);
  });
});

describe('api-key', () => {
  it('creates a key shown once, lists keys without secrets, revokes by id', async () => {
    const migrated = await runCli(['migrate'], env);
    expect(migrated.code, migrated.stderr).toBe(0);
    const created = await runCli(['api-key', 'create', '--tenant', 'acme', '--name', 'shop backend'], env);
    expect(created.code, created.stderr).toBe(0);
    const key = created.stdout.trim();
    const match = /^smk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/.exec(key);
    expect(match, key).not.toBeNull();
    const [, keyId, secret] = match!;
    expect(created.stderr).toContain(`API key ${keyId} of tenant acme (events:write only)`);

    const listed = await runCli(['api-key', 'list', '--tenant', 'acme'], env);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`^${keyId}  "shop backend"  created \\S+Z  active\\n$`));
    expect(listed.stdout + listed.stderr).not.toContain(secret);
    const other = await runCli(['api-key', 'list', '--tenant', 'other'], env);
    expect(other.stdout).toBe('');

    const revoked = await runCli(['api-key', 'revoke', '--id', keyId!], env);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toMatch(new RegExp(`^revoked ${keyId} of tenant acme; every API replica refuses it within 10000 ms`));
    const after = await runCli(['api-key', 'list', '--tenant', 'acme'], env);
    expect(after.stdout).toMatch(new RegExp(`^${keyId}  "shop backend"  created \\S+Z  revoked \\S+Z\\n$`));

    const missing = await runCli(['api-key', 'revoke', '--id', '0123456789abcdef'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no API key 0123456789abcdef');
    const badId = await runCli(['api-key', 'revoke', '--id', 'nope'], env);
    expect(badId.code).toBe(2);
    const noTenant = await runCli(['api-key', 'create'], env);
    expect(noTenant.code).toBe(2);
    expect(noTenant.stderr).toMatch(/--tenant is required/);
  });
});
