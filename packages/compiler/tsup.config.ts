import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  treeshake: true,
  // @flyte-ts/core stays a dependency: never bundle a second copy of the IDL.
  external: ['@flyte-ts/core', '@bufbuild/protobuf'],
});
