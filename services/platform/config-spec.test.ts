import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { CONFIG_SPEC, renderConfigDocs, type VariableSpec } from './config-spec.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const docsFile = path.join(root, 'docs/configuration.md');

/** The generated Markdown as Prettier (the project's `make lint`) formats it. */
async function generatedDocs(): Promise<string> {
  const options = (await prettier.resolveConfig(docsFile)) ?? {};
  return prettier.format(renderConfigDocs(), { ...options, filepath: docsFile });
}

/** Where code reads variables: the service, its commands, scripts, benchmarks and test support. */
const SCANNED = ['services', 'bin', 'scripts', 'bench', 'test', 'deploy/kafka', 'deploy/registry', 'deploy/s3'];
const CODE = /\.(ts|js|mjs|cjs)$/;
const READS = [/\benv\.([A-Z][A-Z0-9_]+)\b/g, /\benv\[\s*['"`]([A-Z][A-Z0-9_]+)['"`]\s*\]/g, /\(env,\s*['"`]([A-Z][A-Z0-9_]+)['"`]/g];
/** A shell script's input: `${NAME:-default}`. */
const SHELL_READS = /\$\{([A-Z][A-Z0-9_]+):-/g;

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((file) => path.join(dir, file));
}

/** Every variable name the code reads, with the first file reading it. */
export function variablesReadByCode(): Map<string, string> {
  const found = new Map<string, string>();
  for (const dir of SCANNED) {
    for (const file of filesUnder(path.join(root, dir))) {
      const patterns = CODE.test(file) ? READS : file.endsWith('.sh') ? [SHELL_READS] : [];
      if (patterns.length === 0 || !fs.statSync(file).isFile()) continue;
      const text = fs.readFileSync(file, 'utf8');
      for (const pattern of patterns) {
        for (const match of text.matchAll(pattern)) {
          if (!found.has(match[1]!)) found.set(match[1]!, path.relative(root, file));
        }
      }
    }
  }
  return found;
}

const rows = Object.entries(CONFIG_SPEC) as [string, VariableSpec][];

describe('the configuration spec (services/platform/config-spec.ts)', () => {
  if (process.env.UPDATE_CONFIG_DOCS === '1') {
    it('writes docs/configuration.md', async () => {
      fs.writeFileSync(docsFile, await generatedDocs());
      expect(fs.readFileSync(docsFile, 'utf8')).toBe(await generatedDocs());
    });
    return;
  }

  it('docs/configuration.md is what the spec generates (make config-docs)', async () => {
    const committed = fs.existsSync(docsFile) ? fs.readFileSync(docsFile, 'utf8') : '';
    expect(committed, 'docs/configuration.md differs from the spec: run `make config-docs`').toBe(await generatedDocs());
  });

  it('has a row for every variable the code reads', () => {
    const read = variablesReadByCode();
    const missing = [...read].filter(([name]) => !(name in CONFIG_SPEC)).map(([name, file]) => `${name} (read in ${file})`);
    expect(missing, 'variables read by the code but not declared in config-spec.ts').toEqual([]);
    // The scan finds what it should: a service variable, a script's and a test's.
    expect(read.has('INGEST_GROUP_ID') && read.has('KAFKA_VERSION') && read.has('TEST_KEEP_KAFKA')).toBe(true);
  });

  it('loadConfig reads exactly the service variables of the spec', () => {
    const touched = new Set<string>();
    const env = new Proxy({} as Record<string, string | undefined>, {
      get: (_target, key) => {
        if (typeof key === 'string') touched.add(key);
        return undefined;
      },
    });
    loadConfig(env);
    const expected = rows
      .filter(([, row]) => row.use === 'runtime' && (row.parse !== undefined || row.readIn?.startsWith('with `')))
      .map(([name]) => name)
      .sort();
    expect([...touched].sort()).toEqual(expected);
  });

  it('every row has a default and a meaning, and a non-service row says where it is read', () => {
    for (const [name, row] of rows) {
      expect(row.default.trim(), name).not.toBe('');
      expect(row.meaning.trim(), name).not.toBe('');
      if (row.use !== 'runtime') expect(row.readIn, name).toBeTruthy();
      if (row.use === 'runtime' && row.parse === undefined) expect(row.readIn, name).toBeTruthy();
    }
  });
});
