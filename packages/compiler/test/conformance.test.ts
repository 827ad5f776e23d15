// Conformance with Flyte's reference compiler: reproduces flytepropeller's compiler_test.go on the
// flytekit-serialized flytesnacks entities and Flyte's own compiled outputs (../shared/conformance).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { create, equals, fromBinary, fromJsonString, toJson } from '@bufbuild/protobuf';
import { afterAll, describe, expect, it } from 'vitest';
import { idl } from '@flyte-ts/core';
import { compileTask, compileWorkflow, getRequirements } from '@flyte-ts/compiler';
import { idKey } from '../src/ids.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const conformanceDir = process.env['FLYTE_TS_CONFORMANCE_DIR'] ?? resolve(repoRoot, '..', 'shared', 'conformance');
const dataDir = join(conformanceDir, 'flytepropeller-compiler', 'snacks-core');
const available = existsSync(join(dataDir, 'compiled'));
const skipReason = `Flyte's conformance data not found at ${dataDir} (set FLYTE_TS_CONFORMANCE_DIR)`;
if (!available) console.warn(`conformance: skipped: ${skipReason}`);

const files = available
  ? readdirSync(dataDir)
      .filter((f) => f.endsWith('.pb'))
      .sort()
  : [];
// The two WorkflowSpec files (workflows with sub-workflows) have no golden; the harness never compiles them.
const WORKFLOW_SPECS = new Set([
  '064_core.control_flow.subworkflows.parent_wf_2.pb',
  '066_core.control_flow.subworkflows.nested_parent_wf_2.pb',
]);
const taskFiles = files.filter((f) => f.endsWith('_1.pb'));
const workflowFiles = files.filter((f) => f.endsWith('_2.pb') && !WORKFLOW_SPECS.has(f));
const golden = (file: string, suffix: string) =>
  readFileSync(join(dataDir, 'compiled', `${file.replace(/\.pb$/, '')}_${suffix}.json`), 'utf8');

// Flyte's harness appends three container config entries to every task before compiling (baked into the goldens).
function withTestConfig(template: idl.core.TaskTemplate): idl.core.TaskTemplate {
  if (template.target.case === 'container') {
    for (const i of [1, 2, 3]) {
      template.target.value.config.push(
        create(idl.core.KeyValuePairSchema, { key: `testKey${i}`, value: `testValue${i}` }),
      );
    }
  }
  return template;
}

const compiledTasks = new Map<string, idl.core.CompiledTask>();
const score = { tasks: 0, workflows: 0 };

describe.skipIf(!available)('Flyte compiler conformance (flytepropeller compiler_test.go, snacks-core)', () => {
  afterAll(() => {
    console.log(
      `conformance: ${score.tasks}/${taskFiles.length} tasks, ${score.workflows}/${workflowFiles.length} workflows`,
    );
  });

  it('has the corpus Flyte’s test uses', () => {
    expect(taskFiles).toHaveLength(87);
    expect(workflowFiles).toHaveLength(43);
  });

  it.each(taskFiles)('task %s compiles to Flyte’s CompiledTask', (file) => {
    const spec = fromBinary(idl.admin.TaskSpecSchema, readFileSync(join(dataDir, file)));
    const compiled = compileTask(withTestConfig(spec.template!));
    compiledTasks.set(idKey(compiled.template!.id), compiled);
    const expected = fromJsonString(idl.core.CompiledTaskSchema, golden(file, 'task'));
    // Deep equality of the JSON forms first, for a readable diff; then protobuf equality, the actual criterion.
    expect(toJson(idl.core.CompiledTaskSchema, compiled)).toEqual(toJson(idl.core.CompiledTaskSchema, expected));
    expect(equals(idl.core.CompiledTaskSchema, compiled, expected)).toBe(true);
    score.tasks++;
  });

  it.each(workflowFiles)('workflow %s compiles to Flyte’s CompiledWorkflowClosure', (file) => {
    const closure = fromBinary(idl.core.WorkflowClosureSchema, readFileSync(join(dataDir, file)));
    const workflow = closure.workflow!;
    const { taskIds } = getRequirements(workflow, []);
    const tasks = taskIds.map((id) => {
      const task = compiledTasks.get(idKey(id));
      if (task === undefined) throw new Error(`task ${id.name} was not compiled`);
      return task;
    });
    const compiled = compileWorkflow(workflow, [], tasks, []);
    const expected = fromJsonString(idl.core.CompiledWorkflowClosureSchema, golden(file, 'wf'));
    expect(toJson(idl.core.CompiledWorkflowClosureSchema, compiled)).toEqual(
      toJson(idl.core.CompiledWorkflowClosureSchema, expected),
    );
    expect(equals(idl.core.CompiledWorkflowClosureSchema, compiled, expected)).toBe(true);
    score.workflows++;
  });
});
