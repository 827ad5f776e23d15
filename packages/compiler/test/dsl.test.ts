// What @flyte-ts/core's DSL produces compiles, with every node kind: maps (ArrayNodes), branches, gates,
// subworkflows, launch plans, failure nodes, explicit ordering.
import { toJson } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import {
  approve,
  conditional,
  idl,
  launchPlan,
  map,
  serialize,
  sleep,
  t,
  task,
  waitForInput,
  workflow,
} from '@flyte-ts/core';
import { compilePackage, type CompiledPackage } from '@flyte-ts/compiler';

const square = task({ name: 'c.square', inputs: { x: t.float() }, outputs: { y: t.float() } }, ({ x }) => ({
  y: x * x,
}));
const total = task({ name: 'c.total', inputs: { xs: t.list(t.float()) }, outputs: { sum: t.float() } }, ({ xs }) => ({
  sum: xs.reduce((a, b) => a + b, 0),
}));
const safeTotal = task(
  { name: 'c.safe_total', inputs: { xs: t.list(t.optional(t.float())) }, outputs: { sum: t.float() } },
  ({ xs }) => ({
    sum: xs.reduce<number>((a, b) => a + (b ?? 0), 0),
  }),
);
const report = task({ name: 'c.report', inputs: { value: t.float(), note: t.optional(t.string()) } }, () => undefined);
const cleanup = task({ name: 'c.cleanup', inputs: { xs: t.list(t.float()) } }, () => undefined);

const sub = workflow({ name: 'c.sub', inputs: { xs: t.list(t.float()) }, outputs: { sum: t.float() } }, ({ xs }) => ({
  sum: total({ xs: map(square)({ x: xs }).y }).sum,
}));
const subPlan = launchPlan(sub, { name: 'c.sub.plan' });

const main = workflow(
  {
    name: 'c.main',
    inputs: { xs: t.list(t.float()), limit: t.float() },
    outputs: { result: t.float(), partial: t.float(), approved: t.float() },
    onFailure: cleanup,
  },
  ({ xs, limit }) => {
    const viaSub = sub({ xs });
    const viaPlan = subPlan({ xs });
    const partial = safeTotal({ xs: map(square, { minSuccessRatio: 0.5 })({ x: xs }).y });
    const chosen = conditional('pick')
      .if(viaSub.sum.gt(limit))
      .then(() =>
        conditional('inner')
          .if(viaPlan.sum.gt(limit))
          .then(() => total({ xs: [viaSub.sum, viaPlan.sum] }))
          .else(() => total({ xs: [viaSub.sum] })),
      )
      .else(() => total({ xs: [limit] }));
    const pause = sleep('1m');
    const extra = waitForInput('extra', t.float());
    const approved = approve(total({ xs: [chosen.sum, extra] }).sum, 'go');
    report({ value: approved }).runsBefore(pause);
    return { result: chosen.sum, partial: partial.sum, approved };
  },
);

function compileAll(): CompiledPackage {
  return compilePackage(serialize([main], { project: 'p', domain: 'development', version: '1' }));
}

describe('compiling what the DSL produces', () => {
  const compiled = compileAll();
  const closure = compiled.workflows.find((w) => w.spec.template?.id?.name === 'c.main')!.closure;
  const connections = toJson(idl.core.ConnectionSetSchema, closure.primary!.connections!) as {
    upstream: Record<string, { ids: string[] }>;
    downstream: Record<string, { ids: string[] }>;
  };

  it('compiles every workflow of the package', () => {
    expect(compiled.workflows.map((w) => w.spec.template?.id?.name).sort()).toEqual(['c.main', 'c.sub']);
    expect(compiled.launchPlans.map((lp) => lp.id.name)).toEqual(['c.sub.plan']);
  });

  it('injects start and end nodes and resolves workflow inputs to start-node', () => {
    const nodes = closure.primary!.template!.nodes;
    expect(nodes.slice(0, 2).map((n) => n.id)).toEqual(['start-node', 'end-node']);
    const first = nodes[2]!;
    expect(first.inputs[0]!.binding?.value).toMatchObject({
      case: 'promise',
      value: { nodeId: 'start-node', var: 'xs' },
    });
  });

  it('connects nodes by their data dependencies and explicit ordering', () => {
    // n0 sub, n1 launch plan, n2 map, n3 safe_total, n4 branch, n5 sleep, n6 signal, n7 total, n8 approve, n9 report
    expect(connections.upstream['n3']!.ids).toEqual(['n2']);
    // The branch waits for what its condition reads; its cases wait for what they read (below).
    expect(connections.upstream['n4']!.ids).toEqual(['n0', 'start-node']);
    expect(connections.upstream['n8']!.ids).toEqual(['n7']);
    expect(connections.upstream['n5']!.ids).toEqual(['n9']);
    expect(connections.downstream['start-node']!.ids).toEqual(['n0', 'n1', 'n2', 'n4', 'n6']);
    // n1 feeds only a branch case, so nothing downstream of it at the top level: it connects to end-node.
    expect(connections.upstream['end-node']!.ids).toEqual(['n1', 'n3', 'n4', 'n5', 'n8']);
  });

  it('renames branch cases and connects them upstream only', () => {
    expect(connections.upstream['n4-n0']!.ids).toEqual(['n1', 'start-node']);
    expect(connections.upstream['n4-n0-n0']!.ids).toEqual(['n0', 'n1']);
    expect(connections.downstream['n4-n0']).toBeUndefined();
  });

  it('connects the failure node upstream', () => {
    expect(connections.upstream['fn0']!.ids).toEqual(['start-node']);
  });

  it('compiles the subworkflow in the closure', () => {
    const compiledSub = closure.subWorkflows.find((s) => s.template?.id?.name === 'c.sub')!;
    expect(compiledSub.template?.nodes.map((n) => n.id)).toEqual(['start-node', 'end-node', 'n0', 'n1']);
    expect(closure.launchPlans.map((lp) => lp.template?.id?.name)).toEqual(['c.sub.plan']);
    expect(closure.tasks.map((task) => task.template?.id?.name)).toEqual([
      'c.cleanup',
      'c.report',
      'c.safe_total',
      'c.square',
      'c.total',
    ]);
  });

  it('types the outputs of a map that may fail as lists of optionals', () => {
    // map(..., { minSuccessRatio: 0.5 }) yields list<optional<float>>; `total` wants list<float>.
    const ok = workflow({ name: 'c.ok', inputs: { xs: t.list(t.float()) } }, ({ xs }) => {
      safeTotal({ xs: map(square, { minSuccessRatio: 0.5 })({ x: xs }).y });
    });
    const pkg = serialize([ok, total]);
    expect(() => compilePackage(pkg)).not.toThrow();
    // The same workflow with the consumer swapped for one that needs every value does not compile.
    const template = pkg.workflows[0]!.template!;
    const consumer = template.nodes[1]!;
    if (consumer.target.case !== 'taskNode' || consumer.target.value.reference.case !== 'referenceId')
      throw new Error('task node');
    consumer.target.value.reference.value.name = 'c.total';
    consumer.inputs[0]!.var = 'xs';
    expect(() => compilePackage(pkg)).toThrow(/MismatchingTypes at n1/);
  });
});
