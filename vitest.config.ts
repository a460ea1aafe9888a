import { configDefaults, defineConfig, type TestProjectInlineConfiguration, type ViteUserConfig } from 'vitest/config';

/**
 * Four projects (tiers), each runnable alone: `npx vitest run --project unit` (or `npm run test:unit`).
 *  - unit: no broker, no engine, no server, no global setup; seconds.
 *  - integration: test/integration against the real broker and the real engine.
 *  - e2e: test/e2e, the command line and the built pipeline as deployed.
 *  - slow: crash, restart, broker loss and rebalance, wherever they live.
 * `npx vitest run` (`npm test`, `make test`) runs all four. A file belongs to exactly one project.
 *
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

/** Tests beside the code that start a server of their own (a loopback HTTP stand-in): not unit. */
const SERVICE_TESTS_WITH_A_SERVER = ['services/alerts/notifier.test.ts', 'services/platform/schema-registry-client.test.ts'];
/** Crash, restart, broker loss, rebalance: minutes each. */
const SLOW_TESTS = [
  'test/integration/ingest-crash.test.ts',
  'test/integration/ingest-restart.test.ts',
  'test/integration/ingest-rebalance.test.ts',
  'test/integration/ingest-rebalance-slow-write.test.ts',
  'test/integration/kafka-cluster-broker-loss.test.ts',
  'test/e2e/alerts-restart.test.ts',
];
/** In a TEST_S3 or TEST_PYTHON run, the one file it opts into; otherwise undefined. */
const optIn = s3Only ? S3_TESTS : pythonOnly ? PYTHON_TESTS : undefined;
const exclude = (...files: string[]): string[] => [...configDefaults.exclude, ...S3_TESTS, ...PYTHON_TESTS, ...files];

/** The broker (and the engine's server, if any) the tiers that need one share; started once, stopped at the end. */
const WITH_BROKER: NonNullable<ViteUserConfig['test']> = {
  // One chDB engine per process: every test file runs in its own child process.
  pool: 'forks',
  isolate: true,
  globalSetup: ['test/support/global-setup.ts'],
  testTimeout: 120_000,
  hookTimeout: 180_000,
};

const TIERS: TestProjectInlineConfiguration[] = [
  {
    extends: true,
    test: {
      name: 'unit',
      include: ['services/**/*.test.ts', 'test/unit/**/*.test.ts'],
      exclude: exclude(...SERVICE_TESTS_WITH_A_SERVER),
      // Nothing here holds a native engine: worker threads start faster than child processes.
      pool: 'threads',
      isolate: true,
      testTimeout: 30_000,
      hookTimeout: 30_000,
    },
  },
  {
    extends: true,
    test: {
      name: 'integration',
      include: ['test/integration/**/*.test.ts', ...SERVICE_TESTS_WITH_A_SERVER],
      exclude: exclude(...SLOW_TESTS),
      ...WITH_BROKER,
    },
  },
  { extends: true, test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], exclude: exclude(...SLOW_TESTS), ...WITH_BROKER } },
  { extends: true, test: { name: 'slow', include: SLOW_TESTS, exclude: exclude(), ...WITH_BROKER } },
];

export default defineConfig({
  test: {
    // No globalSetup at the root: the root's runs for every project, unit included.
    maxWorkers: 2,
    reporters: ['default'],
    projects: optIn ? [{ extends: true, test: { name: 'integration', include: optIn, ...WITH_BROKER } }] : TIERS,
  },
});
