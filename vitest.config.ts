import { configDefaults, defineConfig } from 'vitest/config';

/**
 * The tests against a real S3-compatible server (SeaweedFS, built from the Go module proxy: about
 * 6 minutes the first time on 2 cores) run in `make test-s3` (TEST_S3=1), which .ci/run calls
 * after `make test`, so that `make test` stays quick on a fresh machine.
 */
const S3_TESTS = ['test/integration/download-replicas.test.ts'];
const s3Only = process.env.TEST_S3 === '1';
/**
 * The tests with Confluent's Python client (a venv from PyPI under .cache/python, about 30 s the
 * first time; the file takes about 65 s with its schema registry start-up) run in
 * `make test-python` (TEST_PYTHON=1), after `make test`: alone, so that no other test file
 * stops the shared test registry under it.
 */
const PYTHON_TESTS = ['test/integration/python-client.test.ts'];
const pythonOnly = process.env.TEST_PYTHON === '1';

export default defineConfig({
  test: {
    include: s3Only ? S3_TESTS : pythonOnly ? PYTHON_TESTS : ['services/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: s3Only || pythonOnly ? configDefaults.exclude : [...configDefaults.exclude, ...S3_TESTS, ...PYTHON_TESTS],
    // One chDB engine per process: every test file runs in its own child process.
    pool: 'forks',
    isolate: true,
    maxWorkers: 2,
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    reporters: ['default'],
  },
});
