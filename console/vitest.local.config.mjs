import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Local runs of the console's browser test before the root config includes it (see README).
export default defineConfig({
  test: {
    root: fileURLToPath(new URL('..', import.meta.url)),
    include: process.env.CONSOLE_UNIT ? ['console/**/*.spec.ts'] : ['console/test/**/*.test.ts'],
    exclude: ['**/node_modules/**'],
    globalSetup: process.env.CONSOLE_UNIT ? [] : ['packages/testkit/src/global-setup.ts'],
    testTimeout: 240_000,
    hookTimeout: 300_000,
    maxWorkers: 1,
    environment: 'node',
  },
});
