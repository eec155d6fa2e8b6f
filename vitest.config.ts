import { defineConfig } from 'vitest/config';
import LongestFirstSequencer from './test/helpers/longest-first.js';

// Unit and integration files share one pool of three workers, longest file first (see
// longest-first.ts): three files at a time keep both cores busy (an integration file spends
// much of its time waiting on a failover, a freeze or a timeout), and short unit files fill
// the tail.
const WORKERS = 3;

export default defineConfig({
  test: {
    sequence: { sequencer: LongestFirstSequencer },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          // No processes, no ports, no state kept between files: one module graph per worker
          // (a fresh one per file cost more than the tests themselves).
          isolate: false,
          maxWorkers: WORKERS,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/helpers/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          maxWorkers: WORKERS,
          fileParallelism: true,
        },
      },
    ],
  },
});
