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
  // @flyte-ts/core stays a dependency: never bundle a second copy of the IDL.
  external: ['@flyte-ts/core', '@flyte-ts/compiler', '@bufbuild/protobuf'],
  // hyparquet is ESM-only: bundled so that the CommonJS build loads on every supported Node.
  noExternal: ['hyparquet', 'hyparquet-writer'],
});
