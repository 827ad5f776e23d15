import { toJson } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import {
  and,
  approve,
  conditional,
  DefinitionError,
  FlyteError,
  idl,
  launchPlan,
  LiteralTypeError,
  map,
  referenceLaunchPlan,
  referenceTask,
  serialize,
  sleep,
  t,
  task,
  waitForInput,
  workflow,
  workflowClosure,
} from '@flyte-ts/core';

const square = task(
  { name: 'demo.square', inputs: { x: t.float() }, outputs: { y: t.float() }, retries: 2, cache: { version: '1' } },
  ({ x }) => ({ y: x * x }),
);
const sum = task({ name: 'demo.sum', inputs: { xs: t.list(t.float()) }, outputs: { total: t.float() } }, ({ xs }) => ({
  total: xs.reduce((a, b) => a + b, 0),
}));
const half = task({ name: 'demo.half', inputs: { v: t.float() }, outputs: { total: t.float() } }, ({ v }) => ({
  total: v / 2,
}));
const scale = task(
  { name: 'demo.scale', inputs: { x: t.float(), factor: t.float() }, outputs: { y: t.float() } },
  ({ x, factor }) => ({ y: x * factor }),
);
const notify = task({ name: 'demo.notify', inputs: { label: t.optional(t.string()) } }, () => undefined);
const cleanup = task({ name: 'demo.cleanup', inputs: { xs: t.list(t.float()) } }, () => undefined);

const offset = workflow(
  { name: 'demo.offset', inputs: { a: t.float(), by: t.float() }, outputs: { b: t.float() }, defaults: { by: 1 } },
  ({ a, by }) => ({ b: sum({ xs: [a, by] }).total }),
);

const pipeline = workflow(
  {
    name: 'demo.pipeline',
    inputs: { xs: t.list(t.float()), label: t.optional(t.string()) },
    outputs: { total: t.float(), shifted: t.float() },
    failurePolicy: 'fail-after-executable-nodes-complete',
    onFailure: cleanup,
  },
  ({ xs, label }) => {
    const squares = map(square, { concurrency: 4 })({ x: xs });
    const scaled = map(scale, { bound: ['factor'] })({ x: squares.y, factor: 0.5 });
    const s = sum({ xs: scaled.y });
    const result = conditional('size')
      .if(and(s.total.gt(10), s.total.lt(1000)))
      .then(() => half({ v: s.total }))
      .elif(s.total.lte(10))
      .then(() => sum({ xs: [s.total, 1] }))
      .fail('total too large');
    const shifted = offset({ a: result.total });
    notify({ label }).runsBefore(s);
    return { total: result.total, shifted: shifted.b };
  },
);

const json = (template: idl.core.WorkflowTemplate) =>
  toJson(idl.core.WorkflowTemplateSchema, template) as { nodes: Record<string, unknown>[] } & Record<string, unknown>;

function thrown(fn: () => unknown): FlyteError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(FlyteError);
    return error as FlyteError;
  }
  throw new Error('expected a FlyteError');
}

describe('workflow → WorkflowTemplate', () => {
  const template = json(pipeline.template({ project: 'p', domain: 'development', version: 'v1' }));

  it('identifies the workflow and its interface', () => {
    expect(template['id']).toEqual({
      resourceType: 'WORKFLOW',
      project: 'p',
      domain: 'development',
      name: 'demo.pipeline',
      version: 'v1',
    });
    expect(template['metadata']).toEqual({ onFailure: 'FAIL_AFTER_EXECUTABLE_NODES_COMPLETE' });
    expect(Object.keys((template['interface'] as { inputs: { variables: object } }).inputs.variables)).toEqual([
      'xs',
      'label',
    ]);
  });

  it('numbers nodes in call order', () => {
    expect(template.nodes.map((n) => n['id'])).toEqual(['n0', 'n1', 'n2', 'n3', 'n4', 'n5']);
  });

  it('records a map task as an ArrayNode over the original task', () => {
    const [squares, scaled] = template.nodes;
    expect(squares).toMatchObject({
      id: 'n0',
      inputs: [{ var: 'x', binding: { promise: { var: 'xs' } } }],
      arrayNode: {
        node: {
          id: 'demo-square',
          metadata: { name: 'square', retries: { retries: 2 } },
          taskNode: { referenceId: { resourceType: 'TASK', name: 'demo.square', version: 'v1' } },
        },
        parallelism: 4,
        minSuccessRatio: 1,
        isOriginalSubNodeInterface: true,
      },
    });
    expect(scaled).toMatchObject({
      inputs: [
        { var: 'factor', binding: { scalar: { primitive: { floatValue: 0.5 } } } },
        { var: 'x', binding: { promise: { nodeId: 'n0', var: 'y' } } },
      ],
      upstreamNodeIds: ['n0'],
      arrayNode: { boundInputs: ['factor'] },
    });
  });

  it('records a branch with conditions on promises, cases numbered within the branch, and a failure', () => {
    const branch = template.nodes[3]!;
    expect(branch['metadata']).toEqual({ name: 'size', retries: {} });
    expect(branch['inputs']).toEqual([{ var: 'n2.total', binding: { promise: { nodeId: 'n2', var: 'total' } } }]);
    expect(branch['upstreamNodeIds']).toEqual(['n2']);
    const ifElse = (branch['branchNode'] as { ifElse: Record<string, unknown> }).ifElse;
    expect(ifElse['case']).toMatchObject({
      condition: {
        conjunction: {
          leftExpression: {
            comparison: {
              operator: 'GT',
              leftValue: { var: 'n2.total' },
              rightValue: { primitive: { floatValue: 10 } },
            },
          },
          rightExpression: { comparison: { operator: 'LT', rightValue: { primitive: { floatValue: 1000 } } } },
        },
      },
      thenNode: { id: 'n0', taskNode: { referenceId: { name: 'demo.half' } } },
    });
    expect(ifElse['other']).toMatchObject([
      {
        condition: { comparison: { operator: 'LTE' } },
        thenNode: {
          id: 'n1',
          inputs: [
            {
              var: 'xs',
              binding: {
                collection: {
                  bindings: [{ promise: { nodeId: 'n2', var: 'total' } }, { scalar: { primitive: { floatValue: 1 } } }],
                },
              },
            },
          ],
        },
      },
    ]);
    expect(ifElse['error']).toEqual({ failedNodeId: 'size', message: 'total too large' });
  });

  it('records a subworkflow call with its defaults bound', () => {
    expect(template.nodes[4]).toMatchObject({
      id: 'n4',
      inputs: [
        { var: 'a', binding: { promise: { nodeId: 'n3', var: 'total' } } },
        { var: 'by', binding: { scalar: { primitive: { floatValue: 1 } } } },
      ],
      workflowNode: { subWorkflowRef: { resourceType: 'WORKFLOW', name: 'demo.offset', version: 'v1' } },
    });
  });

  it('binds an optional input and orders nodes explicitly', () => {
    expect(template.nodes[5]).toMatchObject({
      id: 'n5',
      inputs: [{ var: 'label', binding: { promise: { var: 'label' } } }],
    });
    expect(template.nodes[2]).toMatchObject({ id: 'n2', upstreamNodeIds: ['n1', 'n5'] });
  });

  it('binds the outputs and the failure node', () => {
    expect(template['outputs']).toEqual([
      { var: 'total', binding: { promise: { nodeId: 'n3', var: 'total' } } },
      { var: 'shifted', binding: { promise: { nodeId: 'n4', var: 'b' } } },
    ]);
    expect(template['failureNode']).toMatchObject({
      id: 'fn0',
      inputs: [{ var: 'xs', binding: { promise: { var: 'xs' } } }],
    });
  });

  it('serializes the workflow with every dependency', () => {
    const out = serialize([pipeline], { project: 'p', domain: 'development', version: 'v1' });
    expect(out.tasks.map((s) => s.template?.id?.name)).toEqual([
      'demo.square',
      'demo.scale',
      'demo.sum',
      'demo.half',
      'demo.notify',
      'demo.cleanup',
    ]);
    expect(out.workflows.map((w) => w.template?.id?.name)).toEqual(['demo.offset', 'demo.pipeline']);
    expect(out.workflows[1]!.subWorkflows.map((w) => w.id?.name)).toEqual(['demo.offset']);
    const closure = workflowClosure(pipeline);
    expect(closure.tasks).toHaveLength(6);
  });
});

describe('constants', () => {
  it('become literals checked against the input type', () => {
    const wf = workflow({ name: 'c.wf', outputs: { y: t.float() } }, () => ({ y: square({ x: 3 }).y }));
    expect(json(wf.template()).nodes[0]).toMatchObject({
      inputs: [{ var: 'x', binding: { scalar: { primitive: { floatValue: 3 } } } }],
    });
    const error = thrown(() => workflow({ name: 'c.bad' }, () => void square({ x: 'three' as never })));
    expect(error).toBeInstanceOf(LiteralTypeError);
    expect(error.message).toBe('c.bad: call of demo.square.x: expected float, got string');
  });

  it('of union inputs record the chosen variant', () => {
    const pick = task({ name: 'c.pick', inputs: { v: t.union(t.int(), t.string()) } }, () => undefined);
    const wf = workflow({ name: 'c.union' }, () => void pick({ v: 'x' }));
    expect(json(wf.template()).nodes[0]).toMatchObject({
      inputs: [
        {
          binding: {
            scalar: {
              union: {
                value: { scalar: { primitive: { stringValue: 'x' } } },
                type: { simple: 'STRING', structure: { tag: 'str' } },
              },
            },
          },
        },
      ],
    });
  });
});

describe('gates, overrides and references', () => {
  it('records sleep, signal and approval gates', () => {
    const wf = workflow({ name: 'g.wf', outputs: { y: t.float() } }, () => {
      sleep('10m');
      const value = waitForInput('amount', t.float(), { timeout: '2h' });
      const approved = approve(square({ x: value }).y, 'ok');
      return { y: approved };
    });
    const nodes = json(wf.template()).nodes;
    expect(nodes[0]).toMatchObject({ metadata: { name: 'sleep-gate' }, gateNode: { sleep: { duration: '600s' } } });
    expect(nodes[1]).toMatchObject({
      metadata: { name: 'amount', timeout: '7200s' },
      gateNode: { signal: { signalId: 'amount', type: { simple: 'FLOAT' }, outputVariableName: 'o0' } },
    });
    expect(nodes[3]).toMatchObject({
      inputs: [{ var: 'y', binding: { promise: { nodeId: 'n2', var: 'y' } } }],
      gateNode: { approve: { signalId: 'ok' } },
    });
  });

  it('applies node overrides, including a new id seen by every reference to the node', () => {
    const wf = workflow({ name: 'o.wf', outputs: { y: t.float() } }, () => {
      const first = square({ x: 1 }).withOverrides({
        id: 'first',
        name: 'sq',
        retries: 5,
        timeout: '1m',
        resources: { limits: { memory: '1Gi' } },
      });
      return { y: square({ x: first.y }).y };
    });
    const nodes = json(wf.template()).nodes;
    expect(nodes[0]).toMatchObject({
      id: 'first',
      metadata: { name: 'sq', retries: { retries: 5 }, timeout: '60s' },
      taskNode: { overrides: { resources: { limits: [{ name: 'MEMORY', value: '1Gi' }] } } },
    });
    expect(nodes[1]).toMatchObject({
      inputs: [{ binding: { promise: { nodeId: 'first' } } }],
      upstreamNodeIds: ['first'],
    });
  });

  it('calls reference tasks and launch plans by their full ids', () => {
    const remote = referenceTask({
      project: 'x',
      domain: 'prod',
      name: 'py.tasks.double',
      version: 'abc',
      inputs: { n: t.int() },
      outputs: { o0: t.int() },
    });
    const remoteLp = referenceLaunchPlan({
      project: 'x',
      domain: 'prod',
      name: 'py.lp',
      version: 'abc',
      inputs: { n: t.int() },
      outputs: { o0: t.int() },
    });
    const wf = workflow({ name: 'r.wf', outputs: { o: t.int() } }, () => ({
      o: remoteLp({ n: remote({ n: 2 }).o0 }).o0,
    }));
    const nodes = json(wf.template({ project: 'mine', version: 'v' })).nodes;
    expect(nodes[0]).toMatchObject({
      taskNode: {
        referenceId: { resourceType: 'TASK', project: 'x', domain: 'prod', name: 'py.tasks.double', version: 'abc' },
      },
    });
    expect(nodes[1]).toMatchObject({
      workflowNode: { launchplanRef: { resourceType: 'LAUNCH_PLAN', project: 'x', name: 'py.lp' } },
    });
    expect(serialize([wf]).tasks).toEqual([]);
  });

  it('launches launch plans as child executions, without their fixed inputs', () => {
    const lp = launchPlan(offset, { name: 'demo.offset.by2', fixedInputs: { by: 2 } });
    const wf = workflow({ name: 'l.wf', outputs: { b: t.float() } }, () => ({ b: lp({ a: 1 }).b }));
    expect(json(wf.template()).nodes[0]).toMatchObject({
      inputs: [{ var: 'a' }],
      workflowNode: { launchplanRef: { resourceType: 'LAUNCH_PLAN', name: 'demo.offset.by2' } },
    });
    expect((json(wf.template()).nodes[0]!['inputs'] as unknown[]).length).toBe(1);
    expect(serialize([wf]).launchPlans.map((p) => p.id?.name)).toEqual(['demo.offset.by2']);
  });
});

describe('mistakes are coded errors', () => {
  it('calling a task outside a workflow builder', () => {
    const error = thrown(() => square({ x: 1 }));
    expect(error.code).toBe('NOT_IN_WORKFLOW');
    expect(error.message).toContain('.run()');
  });

  it('leaving a required input unbound', () => {
    expect(thrown(() => workflow({ name: 'm.wf' }, () => void square({} as never))).code).toBe('MISSING_INPUT');
  });

  it('binding an unknown input', () => {
    const error = thrown(() => workflow({ name: 'm.wf2' }, () => void square({ x: 1, z: 2 } as never)));
    expect(error.code).toBe('INVALID_BINDING');
    expect(error.message).toContain('no input named z');
  });

  it('binding a promise of an incompatible type', () => {
    const count = task({ name: 'm.count', outputs: { n: t.int() } }, () => ({ n: 1 }));
    const error = thrown(() =>
      workflow({ name: 'm.wf3' }, () => {
        // @ts-expect-error an integer promise cannot be bound to a float input
        square({ x: count().n });
      }),
    );
    expect(error.code).toBe('INVALID_BINDING');
    expect(error.message).toBe('m.wf3: call of demo.square.x: expected float, got a promise of integer (n0.n)');
  });

  it('using a promise of another workflow', () => {
    let leaked: unknown;
    workflow({ name: 'm.a', inputs: { x: t.float() } }, ({ x }) => {
      leaked = x;
    });
    const error = thrown(() => workflow({ name: 'm.b' }, () => void square({ x: leaked as never })));
    expect(error.code).toBe('INVALID_BINDING');
    expect(error.message).toContain('belongs to workflow m.a');
  });

  it('a branch case running two nodes, or cases with different outputs', () => {
    const twoNodes = thrown(() =>
      workflow({ name: 'm.br', inputs: { x: t.float() } }, ({ x }) => {
        conditional('c')
          .if(x.gt(1))
          .then(() => {
            square({ x });
            return half({ v: x });
          })
          .fail('no');
      }),
    );
    expect(twoNodes.code).toBe('INVALID_BRANCH');
    const differentOutputs = thrown(() =>
      workflow({ name: 'm.br2', inputs: { x: t.float() } }, ({ x }) => {
        conditional('c')
          .if(x.gt(1))
          .then(() => half({ v: x }))
          // @ts-expect-error the else case must produce the same outputs
          .else(() => square({ x }));
      }),
    );
    expect(differentOutputs.code).toBe('INVALID_BRANCH');
  });

  it('comparing a promise with a constant of another type', () => {
    const error = thrown(() =>
      workflow({ name: 'm.cmp', inputs: { x: t.float() } }, ({ x }) => {
        conditional('c')
          .if(x.gt('one' as never))
          .then(() => half({ v: x }))
          .fail('no');
      }),
    );
    expect(error.code).toBe('INVALID_BRANCH');
  });

  it('an async builder', () => {
    // @ts-expect-error builders must be synchronous
    const error = thrown(() => workflow({ name: 'm.async' }, async () => undefined));
    expect(error.code).toBe('INVALID_DEFINITION');
  });

  it('bad names and settings', () => {
    expect(thrown(() => task({ name: 'has space' }, () => undefined)).code).toBe('INVALID_DEFINITION');
    expect(thrown(() => task({ name: 'x', outputs: { node: t.int() } }, () => ({ node: 1 }))).message).toContain(
      'reserved',
    );
    expect(thrown(() => task({ name: 'x', retries: -1 }, () => undefined)).code).toBe('INVALID_DEFINITION');
    expect(thrown(() => task({ name: 'x', timeout: '5 parsecs' }, () => undefined)).code).toBe('INVALID_FORMAT');
    expect(thrown(() => task({ name: 'x', resources: { requests: { cpu: 'lots' } } }, () => undefined)).code).toBe(
      'INVALID_FORMAT',
    );
    expect(thrown(() => map(square, { minSuccessRatio: 2 })).code).toBe('INVALID_DEFINITION');
  });

  it('two different entities with one name in a package', () => {
    const a = task({ name: 'dup.t' }, () => undefined);
    const b = task({ name: 'dup.t' }, () => undefined);
    const wf = workflow({ name: 'dup.wf' }, () => {
      a();
      b();
    });
    expect(thrown(() => serialize([wf])).message).toContain('two different tasks are named dup.t');
  });
});

describe('DefinitionError', () => {
  it('is a FlyteError with the id of what was wrong', () => {
    const error = thrown(() => workflow({ name: 'e.wf' }, () => void square({} as never)));
    expect(error).toBeInstanceOf(DefinitionError);
    expect(error.id).toBe('e.wf: call of demo.square.x');
  });
});
