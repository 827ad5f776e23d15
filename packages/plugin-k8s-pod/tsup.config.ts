import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  // Types of workspace dependencies come from their sources, so packages build in any order.
  dts: { compilerOptions: { customConditions: ['@flyte-ts/source'] } },
  sourcemap: true,
  clean: true,
  target: 'node20',
  treeshake: true,
  // Dependencies stay external: one copy of the IDL, and the Kubernetes client users configure.
  external: ['@flyte-ts/core', '@bufbuild/protobuf', '@kubernetes/client-node'],
});
