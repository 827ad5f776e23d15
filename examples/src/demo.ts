// `npm run demo`: builds the example pipeline, serializes it the way registration will consume it, compiles it
// with Flyte's semantics, and runs its tasks locally through Flyte literals. (The engine that runs whole
// workflows arrives with @flyte-ts/executor.)
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toJsonString } from '@bufbuild/protobuf';
import { compilePackage } from '@flyte-ts/compiler';
import { describeLiteralType, formatIdentifier, idl, serialize } from '@flyte-ts/core';
import { measure, nightly, summarize, tokenize, wordStats } from './word-stats.js';

const settings = { project: 'flytesnacks', domain: 'development', version: 'demo' };
const out = join(process.cwd(), '..', '.flyte', 'package');
mkdirSync(out, { recursive: true });

console.log(
  `Serializing ${wordStats.name} and everything it needs (${settings.project}/${settings.domain}, version ${settings.version})\n`,
);
const pkg = serialize([nightly], settings);
for (const spec of pkg.tasks) {
  const template = spec.template!;
  const inputs = Object.entries(template.interface?.inputs?.variables ?? {}).map(
    ([n, v]) => `${n}: ${describeLiteralType(v.type)}`,
  );
  const outputs = Object.entries(template.interface?.outputs?.variables ?? {}).map(
    ([n, v]) => `${n}: ${describeLiteralType(v.type)}`,
  );
  console.log(`  task      ${formatIdentifier(template.id)}  (${inputs.join(', ')}) -> (${outputs.join(', ')})`);
  writeFileSync(
    join(out, `task.${template.id!.name}.json`),
    toJsonString(idl.admin.TaskSpecSchema, spec, { prettySpaces: 2 }),
  );
}
for (const spec of pkg.workflows) {
  const template = spec.template!;
  console.log(
    `  workflow  ${formatIdentifier(template.id)}  nodes: ${template.nodes.map((n) => `${n.id}:${n.target.case}`).join(' ')}`,
  );
  writeFileSync(
    join(out, `workflow.${template.id!.name}.json`),
    toJsonString(idl.admin.WorkflowSpecSchema, spec, { prettySpaces: 2 }),
  );
}
for (const lp of pkg.launchPlans) {
  const schedule = lp.spec?.entityMetadata?.schedule?.ScheduleExpression;
  console.log(
    `  launch plan ${formatIdentifier(lp.id)}  schedule: ${schedule?.case === 'cronSchedule' ? schedule.value.schedule : 'none'}`,
  );
  writeFileSync(
    join(out, `launch_plan.${lp.id!.name}.json`),
    toJsonString(idl.admin.LaunchPlanSchema, lp, { prettySpaces: 2 }),
  );
}
console.log(`\nWrote ${pkg.tasks.length + pkg.workflows.length + pkg.launchPlans.length} entities to ${out}\n`);

console.log('The workflow template:');
console.log(toJsonString(idl.core.WorkflowTemplateSchema, wordStats.template(settings), { prettySpaces: 2 }));

// Compile everything as registration will: interfaces, bindings and types checked, start/end nodes added.
const compiled = compilePackage(pkg);
for (const { closure } of compiled.workflows) {
  const primary = closure.primary!;
  console.log(
    `\nCompiled ${primary.template!.id!.name}: ${primary.template!.nodes.length} nodes, ${closure.tasks.length} tasks`,
  );
  for (const [node, { ids }] of Object.entries(primary.connections!.downstream).sort(([a], [b]) =>
    a.localeCompare(b),
  )) {
    console.log(`  ${node.padEnd(10)} -> ${ids.join(', ')}`);
  }
  for (const [node, { ids }] of Object.entries(primary.connections!.upstream)) {
    if (node.includes('-') && node !== 'end-node' && node !== 'start-node')
      console.log(`  ${node.padEnd(10)} (branch case) waits for ${ids.join(', ')}`);
  }
  writeFileSync(
    join(out, `compiled.${primary.template!.id!.name}.json`),
    toJsonString(idl.core.CompiledWorkflowClosureSchema, closure, { prettySpaces: 2 }),
  );
}

console.log('\nRunning the tasks locally (inputs and outputs go through Flyte literals):');
const text = 'Flyte semantics, embedded in TypeScript: typed tasks, compiled workflows.';
const { words } = await tokenize.run({ text });
console.log(`  tokenize  -> ${words.length} words: ${words.join(' ')}`);
const lengths = await Promise.all(words.map(async (word) => (await measure.run({ word })).length));
console.log(`  measure   -> ${lengths.join(', ')}`);
const summary = await summarize.run({ lengths });
console.log(`  summarize -> total ${summary.total}, longest ${summary.longest}`);
