import { defineConfig } from 'vitest/config';

export default defineConfig({
  // `inkflow/stage-api` and `inkflow/errors` resolve to the TypeScript sources, so
  // in-process tests and the stages they load share one copy of the engine.
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'], externalConditions: ['source'] } },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-tmp.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // CLI tests spawn real processes and train real models; two cores are all there is.
    fileParallelism: false,
    pool: 'forks',
  },
});
