// `npm run demo`: the Quickstart end to end. Serializes and compiles `wf` the way registration does (written
// to .flyte/package), runs it on an engine over the in-memory adapters, prints a timeline of its nodes and
// its outputs, then runs it again to show the cached tasks answered from the cache.
import { mkdirSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toJsonString } from '@bufbuild/protobuf';
import { compilePackage } from '@flyte-ts/compiler';
import { describeLiteralType, idl, msFromTimestamp, serialize } from '@flyte-ts/core';
import { settings, startMemoryEngine, type RunResult } from './engine.js';
import { runQuickstart, wf } from './quickstart.js';
import { formatTimeline, nodeTimeline } from './timeline.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const out = fileURLToPath(new URL('../../.flyte/package/', import.meta.url));
const signature = (variables: { [name: string]: idl.core.Variable } = {}) =>
  Object.entries(variables)
    .map(([name, v]) => `${name}: ${describeLiteralType(v.type)}`)
    .join(', ');

// 1. What registration consumes: serialized specs, compiled with Flyte's semantics.
const pkg = serialize([wf], settings);
const compiled = compilePackage(pkg);
mkdirSync(out, { recursive: true });
for (const spec of pkg.tasks) {
  const file = `${out}task.${spec.template!.id!.name}.json`;
  writeFileSync(file, toJsonString(idl.admin.TaskSpecSchema, spec, { prettySpaces: 2 }));
}
for (const spec of pkg.workflows) {
  const file = `${out}workflow.${spec.template!.id!.name}.json`;
  writeFileSync(file, toJsonString(idl.admin.WorkflowSpecSchema, spec, { prettySpaces: 2 }));
}
for (const { closure } of compiled.workflows) {
  const file = `${out}compiled.${closure.primary!.template!.id!.name}.json`;
  writeFileSync(file, toJsonString(idl.core.CompiledWorkflowClosureSchema, closure, { prettySpaces: 2 }));
}
const primary = compiled.workflows[0]!.closure.primary!;
const { interface: signatureOf, nodes } = primary.template!;
console.log(
  `${wf.name}(${signature(signatureOf?.inputs?.variables)}) -> (${signature(signatureOf?.outputs?.variables)})`,
);
console.log(
  `Serialized and compiled: ${pkg.tasks.length} tasks, ${nodes.length} nodes; written to ${relative(root, out)}/`,
);
const downstream = Object.entries(primary.connections!.downstream);
for (const [node, { ids }] of downstream.sort(([a], [b]) =>
  a === 'start-node' ? -1 : b === 'start-node' ? 1 : a.localeCompare(b),
)) {
  console.log(`  ${node.padEnd(10)} -> ${ids.join(', ')}`);
}

// 2. Run it on an engine, twice with the same seed: the second run reads the cached tasks' results.
const engine = await startMemoryEngine();
try {
  for (const [name, title] of [
    ['quickstart-1', 'Run 1: wf(n=500, mean=42, sigma=2, seed=7)'],
    ['quickstart-2', 'Run 2: the same inputs again (mean_of and std_of are cached)'],
  ] as const) {
    const result = await runQuickstart(engine, { name, seed: 7 });
    console.log(`\n${title}: ${result.phase} in ${elapsed(result)} ms`);
    for (const line of formatTimeline(await nodeTimeline(engine, result.id))) console.log(`  ${line}`);
    const { mean, std } = result.outputs ?? { mean: NaN, std: NaN };
    console.log(`  outputs: mean = ${mean.toFixed(3)}, std = ${std.toFixed(3)}`);
  }
} finally {
  await engine.stop();
}

function elapsed(result: RunResult<typeof wf.outputs>): number {
  const closure = result.execution.closure;
  if (closure?.createdAt === undefined || closure.updatedAt === undefined) return 0;
  return msFromTimestamp(closure.updatedAt) - msFromTimestamp(closure.createdAt);
}
