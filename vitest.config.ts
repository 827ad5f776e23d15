// One vitest run for the whole monorepo. Workspace packages resolve to their TypeScript sources
// (the "@flyte-ts/source" export condition), so tests never need a prior build.
import { defineConfig } from 'vitest/config';

// Vite's default server conditions, plus ours first.
const conditions = ['@flyte-ts/source', 'module', 'node', 'development|production'];
// Tests run on Node (vitest's SSR side), where `module` would select bundler-only ESM builds that Node cannot load
// (the AWS SDK's `dist-es`, with extensionless imports): resolve dependencies as Node does.
const nodeConditions = conditions.filter((condition) => condition !== 'module');

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions: nodeConditions } },
  test: {
    reporters: ['default', './scripts/summary-reporter.ts'],
    include: ['packages/*/test/**/*.test.ts', 'examples/test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
  },
});
