import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['*/src/**/*.test.ts', 'test/src/**/*.test.ts', 'infra/lib/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    // Builds the medimg CLI once (its tests run the built binary) and checks for the DICOM corpus.
    globalSetup: ['test/src/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
