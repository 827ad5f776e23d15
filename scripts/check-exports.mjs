// Checks the built packages as users load them: ESM import and CJS require of each package's entry points
// (the main one and every subpath such as `@flyte-ts/core/testing`), through its `exports` map (run after
// `npm run build`).
import { createRequire } from 'node:module';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

// Entry points that import vitest, whose CommonJS entry refuses `require()` outside its runner by design: their CJS
// build is checked to exist, and loads only inside a vitest run. (`@flyte-ts/blob-s3/testing` does not import vitest:
// both its builds are loaded.)
const VITEST_ENTRIES = new Set(['@flyte-ts/core/testing']);

let failed = false;
for (const dir of readdirSync(new URL('../packages/', import.meta.url))) {
  const pkg = JSON.parse(readFileSync(new URL(`../packages/${dir}/package.json`, import.meta.url), 'utf8'));
  const subpaths = Object.keys(pkg.exports ?? { '.': {} }).filter((subpath) => !subpath.endsWith('.json'));
  for (const subpath of subpaths) {
    const specifier = subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`;
    try {
      const esm = await import(specifier);
      const names = Object.keys(esm).sort();
      if (names.length === 0) throw new Error('no exports');
      if (VITEST_ENTRIES.has(specifier)) {
        const cjsFile = pkg.exports[subpath].require.default;
        const path = join(dirname(require.resolve(`${pkg.name}/package.json`)), cjsFile);
        if (!existsSync(path)) throw new Error(`missing CJS build ${cjsFile}`);
        console.log(`exports: ${specifier} ok (${names.length} exports, ESM; CJS file present, loads under vitest)`);
        continue;
      }
      const cjs = require(specifier);
      const missing = names.filter((name) => name !== 'default' && !(name in cjs));
      if (missing.length > 0) throw new Error(`CJS lacks ${missing.join(', ')}`);
      console.log(`exports: ${specifier} ok (${names.length} exports, ESM and CJS)`);
    } catch (error) {
      failed = true;
      console.error(`exports: ${specifier} FAILED: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
process.exit(failed ? 1 : 0);
