import { defineConfig } from 'tsup';

export default defineConfig({
  // `testing/index` is the `@flyte-ts/core/testing` subpath: the contract suites adapters run (it imports vitest).
  entry: { index: 'src/index.ts', 'testing/index': 'src/testing/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  treeshake: true,
  // The test runner is the adapter's own (an optional peer dependency), never bundled.
  external: ['vitest'],
});
