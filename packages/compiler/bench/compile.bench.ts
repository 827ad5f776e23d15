// `npm run bench` (compiler): time to compile generated workflows of 1k, 10k and 50k nodes, in two shapes:
// a chain (each node consumes the previous one) and a fan-out/fan-in (every node consumes the input, one
// node collects every output). Prints figures; asserts nothing.
import { performance } from 'node:perf_hooks';
import { create } from '@bufbuild/protobuf';
import { idl, t, task } from '@flyte-ts/core';
import { compileTask, compileWorkflow } from '../src/index.js';

const step = compileTask(
  task({ name: 'bench.step', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({ y: x })).template(),
);
const gather = compileTask(
  task({ name: 'bench.gather', inputs: { xs: t.list(t.int()) }, outputs: { y: t.int() } }, () => ({ y: 0 })).template(),
);
const INT = t.int().literalType;

const promise = (nodeId: string, v: string) =>
  create(idl.core.BindingDataSchema, { value: { case: 'promise', value: { nodeId, var: v } } });
const taskNode = (id: string, taskId: idl.core.Identifier, binding: idl.core.Binding) =>
  create(idl.core.NodeSchema, {
    id,
    inputs: [binding],
    target: { case: 'taskNode', value: { reference: { case: 'referenceId', value: taskId } } },
  });

function template(name: string, nodes: idl.core.Node[], last: string): idl.core.WorkflowTemplate {
  return create(idl.core.WorkflowTemplateSchema, {
    id: { resourceType: idl.core.ResourceType.WORKFLOW, name },
    interface: { inputs: { variables: { x: { type: INT } } }, outputs: { variables: { y: { type: INT } } } },
    nodes,
    outputs: [{ var: 'y', binding: promise(last, 'y') }],
  });
}

function chain(size: number): idl.core.WorkflowTemplate {
  const nodes = Array.from({ length: size }, (_, i) =>
    taskNode(
      `n${i}`,
      step.template!.id!,
      create(idl.core.BindingSchema, { var: 'x', binding: i === 0 ? promise('', 'x') : promise(`n${i - 1}`, 'y') }),
    ),
  );
  return template(`bench.chain${size}`, nodes, `n${size - 1}`);
}

function fan(size: number): idl.core.WorkflowTemplate {
  const nodes = Array.from({ length: size }, (_, i) =>
    taskNode(`n${i}`, step.template!.id!, create(idl.core.BindingSchema, { var: 'x', binding: promise('', 'x') })),
  );
  const all = create(idl.core.BindingDataSchema, {
    value: { case: 'collection', value: { bindings: nodes.map((n) => promise(n.id, 'y')) } },
  });
  nodes.push(taskNode('gather', gather.template!.id!, create(idl.core.BindingSchema, { var: 'xs', binding: all })));
  return template(`bench.fan${size}`, nodes, 'gather');
}

console.log('compileWorkflow (median of 3 runs)');
for (const [shape, build] of [
  ['chain', chain],
  ['fan-out/fan-in', fan],
] as const) {
  for (const size of [1_000, 10_000, 50_000]) {
    const wf = build(size);
    const times: number[] = [];
    for (let run = 0; run < 3; run++) {
      const started = performance.now();
      compileWorkflow(wf, [], [step, gather]);
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    const ms = times[1]!;
    console.log(
      `  ${shape.padEnd(15)} ${String(size).padStart(6)} nodes: ${ms.toFixed(1).padStart(8)} ms  (${((ms * 1000) / size).toFixed(1)} µs/node)`,
    );
  }
}
