import { defineConfig } from 'vitest/config';

// Three tiers. unit and simulation are CPU-bound and deterministic; integration starts
// real ZooKeeper servers and node processes, so its files run one at a time (and `npm test`
// runs it after the others) to keep timing noise out of what it measures.
export default defineConfig({
  test: {
    allowOnly: false,
    // Both cores: the simulation seeds are split over four files so that two run at once.
    maxWorkers: 2,
    reporters: ['default'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'simulation',
          include: ['test/simulation/**/*.test.ts'],
          testTimeout: 300_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 90_000,
        },
      },
    ],
  },
});
