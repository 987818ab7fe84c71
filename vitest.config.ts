import { defineConfig } from 'vitest/config';

// Two projects: `unit` (pure logic and engine tests, no external processes) and `it`
// (integration tests against a real Kafka broker and Apicurio started once per run by
// tools/it/global-setup.ts). Workspace packages resolve to their TypeScript sources through
// the `@tributary/source` export condition, so no build is needed before testing.
const conditions = ['@tributary/source'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: {
    reporters: process.env['CI'] ? ['default', 'json'] : ['default'],
    outputFile: { json: 'reports/vitest.json' },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['{packages,tools,examples}/**/test/**/*.test.ts'],
          exclude: ['**/*.it.test.ts', '**/node_modules/**', '**/dist/**'],
          testTimeout: 20_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'it',
          include: ['{packages,tools,examples}/**/*.it.test.ts'],
          exclude: ['**/node_modules/**', '**/dist/**'],
          globalSetup: ['tools/it/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: true,
          maxWorkers: 2,
          // Memory-bound tests collect garbage before sampling, to measure what is retained.
          execArgv: ['--expose-gc'],
        },
      },
    ],
  },
});
