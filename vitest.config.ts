import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Each file gets its own process: servers, ports and SQLite files never leak between files.
    pool: 'forks',
    // Two files at a time, whatever the machine: most integration files wait (on servers starting,
    // leases running out), so two overlap well on a 2-core machine, where vitest's default
    // (cores - 1) would run one; more made the timing of the kill -9 and soak tests unreliable.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    globalSetup: ['test/support/global-setup.ts'],
    reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
  },
});
