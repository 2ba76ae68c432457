import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/** Runs the infra tests on their own (`npm test -w infra`); the root config runs them with the rest. */
export default defineConfig({
  test: {
    root: fileURLToPath(new URL('.', import.meta.url)),
    include: ['lib/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 300_000,
    pool: 'forks',
  },
});
