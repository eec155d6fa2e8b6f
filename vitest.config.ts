import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          sequence: { groupOrder: 0 },
          environment: 'node',
          // No processes, no ports, no state kept between files: one module graph per worker
          // (a fresh one per file cost more than the tests themselves), both cores busy.
          isolate: false,
          maxWorkers: 2,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          // Unit tests first: they fail fast and need no processes.
          sequence: { groupOrder: 1 },
          environment: 'node',
          globalSetup: ['test/helpers/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // Real processes and Redis servers. Most of a file's time is spent waiting (a
          // failover, a freeze, a timeout running out): three files at a time on a 2-core machine.
          maxWorkers: 3,
          fileParallelism: true,
        },
      },
    ],
  },
});
