import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ClickHouseClient } from '../platform/clickhouse.js';
import type { Logger } from '../platform/logger.js';

/**
 * ClickHouse migrations: `schemas/clickhouse/NNN_name.sql`, applied in order of NNN and
 * recorded in `schema_migrations`. A file holds one or more statements, each ended by `;` at
 * the end of a line; every statement is idempotent (IF NOT EXISTS), so a run interrupted
 * half-way through a file is simply repeated. An applied file must never change: a different
 * checksum stops the run with an error naming the file.
 */

export const MIGRATIONS_DIRECTORY = path.resolve(import.meta.dirname, '../../schemas/clickhouse');

const FILE_NAME = /^(\d{3,})_[a-z0-9_]+\.sql$/;

export interface Migration {
  version: number;
  /** File name, e.g. `001_raw_events.sql`. */
  name: string;
  checksum: string;
  statements: string[];
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

const CREATE_SCHEMA_MIGRATIONS = `
CREATE TABLE IF NOT EXISTS schema_migrations
(
    version    UInt32,
    name       String,
    checksum   String,
    applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = MergeTree
ORDER BY version`;

/** Splits a file at `;` ending a line; pieces holding only comments and blanks are dropped. */
export function splitStatements(sql: string): string[] {
  return sql
    .split(/;[ \t]*(?:\r?\n|$)/)
    .map((piece) => piece.trim())
    .filter((piece) => piece.split('\n').some((line) => line.trim() !== '' && !line.trim().startsWith('--')));
}

function checksumOf(text: string): string {
  return createHash('sha256').update(text.replace(/\r\n/g, '\n')).digest('hex');
}

/** Reads the migration files of `directory` in version order. */
export async function readMigrations(directory = MIGRATIONS_DIRECTORY): Promise<Migration[]> {
  const entries = (await fs.readdir(directory)).filter((name) => name.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  const seen = new Map<number, string>();
  for (const name of entries) {
    const match = FILE_NAME.exec(name);
    if (!match) {
      throw new MigrationError(`migration file ${name} is not named NNN_lower_snake_name.sql`);
    }
    const version = Number(match[1]);
    const previous = seen.get(version);
    if (previous !== undefined) throw new MigrationError(`migration files ${previous} and ${name} share version ${version}`);
    seen.set(version, name);
    const text = await fs.readFile(path.join(directory, name), 'utf8');
    const statements = splitStatements(text);
    if (statements.length === 0) throw new MigrationError(`migration file ${name} holds no statement`);
    migrations.push({ version, name, checksum: checksumOf(text), statements });
  }
  return migrations.sort((a, b) => a.version - b.version);
}

interface AppliedRow {
  version: number;
  name: string;
  checksum: string;
}

async function appliedMigrations(client: ClickHouseClient): Promise<Map<number, AppliedRow>> {
  const result = await client.query({
    // Two processes starting together may both record a file; any row of a version will do.
    query: 'SELECT version, any(name) AS name, any(checksum) AS checksum FROM schema_migrations GROUP BY version',
    format: 'JSONEachRow',
  });
  const rows = await result.json<AppliedRow>();
  return new Map(rows.map((row) => [Number(row.version), row]));
}

export interface ApplyMigrationsOptions {
  directory?: string;
}

/** Applies the migrations not yet recorded, in order; returns the names of those it applied. */
export async function applyMigrations(
  client: ClickHouseClient,
  logger: Logger,
  options: ApplyMigrationsOptions = {},
): Promise<{ applied: string[] }> {
  const log = logger.child({ component: 'migrate' });
  const migrations = await readMigrations(options.directory);
  await client.command({ query: CREATE_SCHEMA_MIGRATIONS });
  const done = await appliedMigrations(client);

  for (const migration of migrations) {
    const recorded = done.get(migration.version);
    if (!recorded) continue;
    if (recorded.checksum !== migration.checksum) {
      throw new MigrationError(
        `migration ${migration.name} was changed after it was applied (as ${recorded.name}); ` +
          'add a new migration file instead of editing an applied one',
      );
    }
  }

  const applied: string[] = [];
  for (const migration of migrations) {
    if (done.has(migration.version)) continue;
    const started = performance.now();
    for (const [index, statement] of migration.statements.entries()) {
      try {
        await client.command({ query: statement });
      } catch (error) {
        throw new MigrationError(
          `migration ${migration.name}, statement ${index + 1} of ${migration.statements.length} failed: ${(error as Error).message}`,
          { cause: error },
        );
      }
    }
    await client.insert({
      table: 'schema_migrations',
      values: [{ version: migration.version, name: migration.name, checksum: migration.checksum }],
      format: 'JSONEachRow',
    });
    applied.push(migration.name);
    log.info(
      { migration: migration.name, statements: migration.statements.length, ms: Math.round(performance.now() - started) },
      'applied migration',
    );
  }
  if (applied.length === 0) log.debug({ migrations: migrations.length }, 'schema up to date');
  return { applied };
}
