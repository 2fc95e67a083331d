import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Tools that are not tests of this checkout alone (scripts/core-differential.sh): never in
// `npm test`, whose projects (../../vitest.config.ts) do not include test/tools.
export default defineConfig({
  test: {
    root: fileURLToPath(new URL('../..', import.meta.url)),
    include: ['test/tools/**/*.test.ts'],
    testTimeout: 1_800_000,
  },
});
