// Checks the built packages as users load them: ESM import and CJS require of each package's entry point,
// through its `exports` map (run after `npm run build`).
import { createRequire } from 'node:module';
import { readdirSync, readFileSync } from 'node:fs';

const require = createRequire(import.meta.url);
let failed = false;
for (const dir of readdirSync(new URL('../packages/', import.meta.url))) {
  const pkg = JSON.parse(readFileSync(new URL(`../packages/${dir}/package.json`, import.meta.url), 'utf8'));
  try {
    const esm = await import(pkg.name);
    const cjs = require(pkg.name);
    const names = Object.keys(esm).sort();
    const missing = names.filter((name) => name !== 'default' && !(name in cjs));
    if (names.length === 0 || missing.length > 0) throw new Error(`CJS lacks ${missing.join(', ')}`);
    console.log(`exports: ${pkg.name} ok (${names.length} exports, ESM and CJS)`);
  } catch (error) {
    failed = true;
    console.error(`exports: ${pkg.name} FAILED: ${error instanceof Error ? error.message : String(error)}`);
  }
}
process.exit(failed ? 1 : 0);
