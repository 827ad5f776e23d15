// `npm run demo`: the Quickstart end to end, on a durable engine. Serializes and compiles `wf` the way
// registration does (written to .flyte/package), runs it once on an engine whose records live in embedded PGlite
// in .flyte/db (or on the PostgreSQL server of DATABASE_URL) and whose inputs and outputs live in .flyte/data,
// and prints a timeline of its nodes and its outputs. Run it again: the cached tasks are answered from the store.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toJsonString } from '@bufbuild/protobuf';
import { compilePackage } from '@flyte-ts/compiler';
import { describeLiteralType, idl, isFlyteError, msFromTimestamp, serialize } from '@flyte-ts/core';
import { listWorkflowExecutions, settings, startDurableEngine, uniqueExecutionName, type RunResult } from './engine.js';
import { meanOf, runQuickstart, sample, stdOf, wf } from './quickstart.js';
import { formatTimeline, nodeTimeline } from './timeline.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
// FLYTE_DEMO_DIR moves the state elsewhere (the tests use it).
const state = process.env.FLYTE_DEMO_DIR || fileURLToPath(new URL('../../.flyte', import.meta.url));
const out = join(state, 'package', sep);
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

// 2. Run it once on a durable engine. With the same seed as the runs before, the cached tasks' results come
// from the store's catalog.
const databaseUrl = process.env.DATABASE_URL || undefined;
const durable = await startDurableEngine({ dir: state, databaseUrl, tasks: [sample, meanOf, stdOf] }).catch(
  (error: unknown) => {
    // Nothing is left open when opening fails: say why and stop.
    const dbDir = relative(root, join(state, 'db'));
    const store = databaseUrl === undefined ? `the PGlite store in ${dbDir}` : 'the PostgreSQL server of DATABASE_URL';
    const code = isFlyteError(error) ? ` [${error.code}]` : '';
    console.error(`\nCould not open ${store}${code}: ${error instanceof Error ? error.message : String(error)}`);
    if (isFlyteError(error, 'STORE_LOCKED')) {
      console.error(`Another \`npm run demo\` (or another program) has ${dbDir} open: run one at a time.`);
    }
    process.exit(1);
  },
);
try {
  const { engine } = durable;
  const embedded = databaseUrl === undefined;
  const dbDir = relative(root, durable.database);
  console.log(
    embedded
      ? `\nStore: embedded PostgreSQL (PGlite) in ${dbDir}/; set DATABASE_URL to use a PostgreSQL server`
      : `\nStore: PostgreSQL server ${durable.database} (DATABASE_URL)`,
  );
  console.log(`Blobs: local filesystem in ${relative(root, fileURLToPath(durable.dataUri))}/ (inputs, outputs)`);

  const name = uniqueExecutionName('quickstart');
  const result = await runQuickstart(engine, { name, seed: 7 });
  console.log(`\nExecution ${name}: wf(n=500, mean=42, sigma=2, seed=7): ${result.phase} in ${elapsed(result)} ms`);
  const rows = await nodeTimeline(engine, result.id);
  for (const line of formatTimeline(rows)) console.log(`  ${line}`);
  const { mean, std } = result.outputs ?? { mean: NaN, std: NaN };
  console.log(`  outputs: mean = ${mean.toFixed(3)}, std = ${std.toFixed(3)}`);

  // What a second run shows: the executions the store kept, and the cache answering the cached tasks.
  const earlier = (await listWorkflowExecutions(engine, wf)).filter((e) => e.id?.name !== name).length;
  const hits = rows.filter((r) => r.cacheStatus === 'CACHE_HIT').map((r) => r.name);
  if (earlier === 0) {
    const again = embedded ? '`npm run demo` again' : '`npm run demo` again with the same DATABASE_URL';
    const from = embedded ? dbDir : 'the PostgreSQL server';
    console.log(`\nRun ${again}: the cached tasks (mean_of, std_of) are answered from ${from}.`);
  } else {
    const holder = embedded ? `The store in ${dbDir}` : 'The PostgreSQL server';
    const count = `${earlier} earlier execution${earlier === 1 ? '' : 's'} of ${wf.name}`;
    const answered = hits.length === 0 ? '' : `; ${hits.join(' and ')} answered from its cache`;
    console.log(`\n${holder} holds ${count}${answered}${embedded ? ' (`rm -rf .flyte` starts over)' : ''}.`);
  }
} finally {
  await durable.close();
}

function elapsed(result: RunResult<typeof wf.outputs>): number {
  const closure = result.execution.closure;
  if (closure?.createdAt === undefined || closure.updatedAt === undefined) return 0;
  return msFromTimestamp(closure.updatedAt) - msFromTimestamp(closure.createdAt);
}
