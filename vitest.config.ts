import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Tests spawn real CLI processes and train real models; two cores are all there is.
    fileParallelism: false,
    pool: 'forks',
  },
});
