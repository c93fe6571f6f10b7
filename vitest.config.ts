import { defineConfig } from 'vitest/config';

// Three tiers, as in the style guide: unit (pure logic, no servers), integration (each package or
// service against the real Kafka, Temporal and FerretDB started once by the global setup) and e2e
// (the six services wired together over the same real servers).
export default defineConfig({
  test: {
    reporters: process.env.VITEST_JSON
      ? ['default', ['json', { outputFile: process.env.VITEST_JSON }]]
      : ['default'],
    projects: [
      {
        test: {
          name: 'unit',
          // Projects with different worker counts must run as separate groups (vitest 4): unit first,
          // then integration, then e2e, so a fast failure shows before the slow tiers start.
          sequence: { groupOrder: 0 },
          include: [
            'packages/*/src/**/*.spec.ts',
            'services/*/src/**/*.spec.ts',
            'test/unit/**/*.spec.ts',
            'console/**/*.spec.ts',
          ],
          exclude: ['**/node_modules/**'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          sequence: { groupOrder: 1 },
          include: ['packages/*/test/**/*.test.ts', 'services/*/test/**/*.test.ts'],
          globalSetup: ['packages/testkit/src/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          maxWorkers: 2,
          environment: 'node',
        },
      },
      {
        test: {
          name: 'e2e',
          sequence: { groupOrder: 2 },
          include: ['test/e2e/**/*.test.ts', 'console/test/**/*.test.ts'],
          globalSetup: ['packages/testkit/src/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          maxWorkers: 1,
          environment: 'node',
        },
      },
    ],
  },
});
