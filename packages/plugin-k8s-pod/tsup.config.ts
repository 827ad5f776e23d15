import { defineConfig } from 'tsup';

export default defineConfig({
  // `entrypoint` is flyte-ts-execute (bin/flyte-ts-execute imports it); `testing/index` the fake API server.
  entry: { index: 'src/index.ts', entrypoint: 'src/entrypoint/index.ts', 'testing/index': 'src/testing/index.ts' },
  format: ['esm', 'cjs'],
  // Types of workspace dependencies come from their sources, so packages build in any order.
  dts: { compilerOptions: { customConditions: ['@flyte-ts/source'] } },
  sourcemap: true,
  clean: true,
  target: 'node20',
  treeshake: true,
  // `import.meta.url` (flyteTsExecuteCommand finds the bin from it) in the CommonJS build too.
  shims: true,
  // Dependencies stay external: one copy of the IDL, and the Kubernetes client users configure.
  // The optional peers (blob stores, the dataset codec) are loaded by flyte-ts-execute as installed.
  external: [
    '@flyte-ts/core',
    '@bufbuild/protobuf',
    '@kubernetes/client-node',
    '@flyte-ts/store-memory',
    '@flyte-ts/blob-s3',
    '@flyte-ts/executor',
  ],
});
