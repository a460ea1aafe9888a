import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['services/**/*.test.ts', 'test/**/*.test.ts'],
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
