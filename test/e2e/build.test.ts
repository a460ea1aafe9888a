import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/cli.js';

/** The shipped form: the compiled dist/ (make install / make test build it) on the Node .nvmrc pins. */
describe('the build', () => {
  const pinned = fs.readFileSync(path.join(ROOT, '.nvmrc'), 'utf8').trim().replace(/^v/, '');

  it('runs the tests on the pinned Node line (make puts it first on PATH)', () => {
    expect(process.versions.node.split('.')[0]).toBe(pinned.split('.')[0]);
  });

  it('bin/sending-metrics.js runs the compiled JavaScript, and dist/ holds no TypeScript', () => {
    const result = spawnSync(process.execPath, [path.join(ROOT, 'bin/sending-metrics.js'), 'token', '--tenant', 'acme'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'sm-build-test-')) },
    });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout.trim()).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const files = fs.readdirSync(path.join(ROOT, 'dist'), { recursive: true, encoding: 'utf8' });
    expect(files.filter((file) => file.endsWith('.ts'))).toEqual([]);
    expect(files).toContain(path.join('services', 'cli', 'main.js'));
    expect(files).toContain(path.join('schemas', 'clickhouse', '001_raw_events.sql'));
    expect(files).toContain(path.join('services', 'api', 'web', 'index.html'));
  });
});
