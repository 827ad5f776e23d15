// Launch plan interfaces, requirements on shared subworkflows, and the copies the compiler hands out.
import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { conditional, idl, launchPlan, serialize, t, task, workflow } from '@flyte-ts/core';
import {
  compilePackage,
  compileTask,
  compileWorkflow,
  getRequirements,
  launchPlanInterfaceFromSpec,
  toCompiledLaunchPlans,
} from '@flyte-ts/compiler';

const INT = t.int().literalType;
const taskId = create(idl.core.IdentifierSchema, { resourceType: idl.core.ResourceType.TASK, name: 't' });

describe('launch plan interfaces', () => {
  it('expect every workflow input that is not fixed: defaulted ones optional, the others required', () => {
    const iface = create(idl.core.TypedInterfaceSchema, {
      inputs: { variables: { a: { type: INT }, b: { type: INT }, c: { type: INT } } },
      outputs: { variables: { o: { type: INT } } },
    });
    const spec = create(idl.admin.LaunchPlanSpecSchema, {
      defaultInputs: {
        parameters: { b: { var: { type: INT }, behavior: { case: 'default', value: t.int().toLiteral(1) } } },
      },
      fixedInputs: { literals: { c: t.int().toLiteral(2) } },
    });
    const provider = launchPlanInterfaceFromSpec(create(idl.core.IdentifierSchema, { name: 'lp' }), spec, iface);
    expect(Object.keys(provider.expectedInputs.parameters).sort()).toEqual(['a', 'b']);
    expect(provider.expectedInputs.parameters['a']!.behavior).toEqual({ case: 'required', value: true });
    expect(provider.expectedInputs.parameters['b']!.behavior.case).toBe('default');
  });

  it('never share objects with the providers given to the compiler', () => {
    const provider = launchPlanInterfaceFromSpec(
      create(idl.core.IdentifierSchema, { name: 'lp' }),
      create(idl.admin.LaunchPlanSpecSchema),
      create(idl.core.TypedInterfaceSchema, { outputs: { variables: { o: { type: INT } } } }),
    );
    const [compiled] = toCompiledLaunchPlans([provider]);
    expect(compiled!.template!.id).toEqual(provider.id);
    expect(compiled!.template!.id).not.toBe(provider.id);
    expect(compiled!.template!.interface!.outputs).not.toBe(provider.expectedOutputs);
  });

  it('let a workflow launch a launch plan with a required input unbound only if it binds it', () => {
    const add = task({ name: 'i.add', inputs: { a: t.int(), b: t.int() }, outputs: { n: t.int() } }, ({ a, b }) => ({
      n: a + b,
    }));
    const child = workflow(
      { name: 'i.child', inputs: { n: t.int(), m: t.int() }, outputs: { n: t.int() } },
      ({ n, m }) => ({
        n: add({ a: n, b: m }).n,
      }),
    );
    const plan = launchPlan(child, { name: 'i.child.plan', defaultInputs: { m: 1 } });
    const parent = workflow({ name: 'i.parent', outputs: { n: t.int() } }, () => ({ n: plan({ n: 3 }).n }));
    expect(() => compilePackage(serialize([parent]))).not.toThrow();
    // Without n, the launch has a required input unbound.
    const pkg = serialize([parent]);
    pkg.workflows.find((w) => w.template?.id?.name === 'i.parent')!.template!.nodes[0]!.inputs = [];
    expect(() => compilePackage(pkg)).toThrow(/ParameterNotBound at n0/);
  });
});

describe('requirements', () => {
  it('are found in linear time when subworkflows are called from many places', () => {
    const leaf = create(idl.core.WorkflowTemplateSchema, {
      id: { resourceType: idl.core.ResourceType.WORKFLOW, name: 'w0' },
      nodes: [{ id: 'n0', target: { case: 'taskNode', value: { reference: { case: 'referenceId', value: taskId } } } }],
    });
    const templates = [leaf];
    // Each level calls the one below twice: 2^60 paths, 61 templates.
    for (let level = 1; level <= 60; level++) {
      const below = { resourceType: idl.core.ResourceType.WORKFLOW, name: `w${level - 1}` };
      templates.push(
        create(idl.core.WorkflowTemplateSchema, {
          id: { resourceType: idl.core.ResourceType.WORKFLOW, name: `w${level}` },
          nodes: ['a', 'b'].map((id) => ({
            id,
            target: {
              case: 'workflowNode' as const,
              value: { reference: { case: 'subWorkflowRef' as const, value: below } },
            },
          })),
        }),
      );
    }
    const top = templates[templates.length - 1]!;
    expect(getRequirements(top, templates.slice(0, -1)).taskIds.map((id) => id.name)).toEqual(['t']);
  });
});

describe('branch conditions the DSL writes', () => {
  const pass = task({ name: 'b.pass', inputs: { v: t.optional(t.int()) }, outputs: { o: t.int() } }, () => ({ o: 0 }));

  it('compile for every comparable type, promise against constant or promise, and none checks', () => {
    const wf = workflow(
      {
        name: 'b.conditions',
        inputs: {
          i: t.int(),
          j: t.int(),
          f: t.float(),
          s: t.string(),
          b: t.boolean(),
          d: t.datetime(),
          u: t.duration(),
          o: t.optional(t.int()),
        },
        outputs: { o: t.int() },
      },
      ({ i, j, f, s, b, d, u, o }) => ({
        o: conditional('all')
          .if(i.gt(j))
          .then(() => pass({ v: i }).o)
          .elif(f.lte(0.5))
          .then(() => pass({ v: 1 }).o)
          .elif(s.eq('x'))
          .then(() => pass({ v: 2 }).o)
          .elif(b.isTrue())
          .then(() => pass({ v: 3 }).o)
          .elif(d.lt(new Date('2030-01-01T00:00:00Z')))
          .then(() => pass({ v: 4 }).o)
          .elif(u.gte(1500))
          .then(() => pass({ v: 5 }).o)
          .elif(o.isNone())
          .then(() => pass({ v: 6 }).o)
          .fail('none'),
      }),
    );
    const compiled = compilePackage(serialize([wf]));
    const upstream = compiled.workflows[0]!.closure.primary!.connections!.upstream;
    expect(upstream['n0']!.ids).toEqual(['start-node']);
  });
});

describe('tasks given to the compiler', () => {
  it('are left unchanged', () => {
    const template = task({ name: 'x.t', inputs: { n: t.int() } }, () => undefined).template();
    template.interface!.outputs = undefined;
    const compiled = compileTask(template);
    const wf = create(idl.core.WorkflowTemplateSchema, {
      id: { resourceType: idl.core.ResourceType.WORKFLOW, name: 'x.wf' },
      interface: { inputs: { variables: { n: { type: INT } } } },
      nodes: [
        {
          id: 'n0',
          inputs: [{ var: 'n', binding: { value: { case: 'promise', value: { var: 'n' } } } }],
          target: { case: 'taskNode', value: { reference: { case: 'referenceId', value: template.id! } } },
        },
      ],
    });
    const closure = compileWorkflow(wf, [], [compiled]);
    // The closure's copy is normalized (empty outputs), the caller's task and workflow are not touched.
    expect(closure.tasks[0]!.template!.interface!.outputs).toBeDefined();
    expect(compiled.template!.interface!.outputs).toBeUndefined();
    expect(wf.nodes[0]!.inputs[0]!.binding!.value.value).toMatchObject({ nodeId: '' });
  });
});
