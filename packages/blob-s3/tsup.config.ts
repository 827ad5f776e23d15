import { defineConfig } from 'tsup';

export default defineConfig({
  // `testing/index` is the `@flyte-ts/blob-s3/testing` subpath: startS3rver, a local S3 for tests and demos.
  entry: { index: 'src/index.ts', 'testing/index': 'src/testing/index.ts' },
  format: ['esm', 'cjs'],
  // Types of workspace dependencies come from their sources, so packages build in any order.
  dts: { compilerOptions: { customConditions: ['@flyte-ts/source'] } },
  sourcemap: true,
  clean: true,
  target: 'node20',
  treeshake: true,
  // `import.meta.url` (startS3rver resolves s3rver from this package) in the CommonJS build too.
  shims: true,
  // Dependencies and the optional peer stay external: one copy of the IDL and of the SDK, s3rver as installed.
  external: ['@flyte-ts/core', '@aws-sdk/client-s3', '@aws-sdk/lib-storage', '@aws-sdk/s3-request-presigner', 's3rver'],
});
