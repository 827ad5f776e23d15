// The compiler refuses what nests deeper than MAX_NESTING_DEPTH (branches, map tasks, conditions, constants and
// types, counted together along a path) with NESTING_TOO_DEEP naming the node, before any recursive walk: 5,000
// nested branches get that coded error, not a stack overflow. At the limit, the stored workflow stays readable.
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { idl, MAX_MESSAGE_DEPTH, MAX_NESTING_DEPTH, messageDepth, t } from '@flyte-ts/core';
import { compileTask, compileWorkflow, getRequirements, launchPlanInterfaceFromSpec } from '@flyte-ts/compiler';

const N = MAX_NESTING_DEPTH;
const INT = t.int().literalType;
const FILE = t.file({ format: 'csv' }).literalType;

const taskId = create(idl.core.IdentifierSchema, { resourceType: idl.core.ResourceType.TASK, name: 'read' });
const tasks = [
  compileTask(
    create(idl.core.TaskTemplateSchema, {
      id: taskId,
      type: 'container',
      interface: {
        inputs: {
          variables: {
            x: { type: INT },
            f: { type: FILE },
            xs: { type: t.optional(t.list(t.list(t.int()))).literalType },
          },
        },
        outputs: { variables: {} },
      },
      target: { case: 'container', value: { image: 'img', args: ['run'] } },
    }),
  ),
];

function codeOf(fn: () => unknown): { code: string; id?: string | undefined } {
  try {
    fn();
    return { code: 'none' };
  } catch (error) {
    const { code, id } = error as { code?: unknown; id?: string };
    return typeof code === 'string' ? { code, id } : { code: `uncoded: ${String(error)}` };
  }
}

const promiseX = create(idl.core.BindingDataSchema, { value: { case: 'promise', value: { nodeId: '', var: 'x' } } });
const fileConstant = create(idl.core.BindingDataSchema, {
  value: {
    case: 'scalar',
    value: {
      value: {
        case: 'blob',
        value: { uri: 's3://bucket/a.csv', metadata: { type: { format: 'csv', dimensionality: 0 } } },
      },
    },
  },
});

const none = create(idl.core.BindingDataSchema, {
  value: { case: 'scalar', value: { value: { case: 'noneType', value: {} } } },
});

/** Integers in `levels` nested lists, as a binding. */
function nestedLists(levels: number): idl.core.BindingData {
  let binding = create(idl.core.BindingDataSchema, {
    value: {
      case: 'scalar',
      value: { value: { case: 'primitive', value: { value: { case: 'integer', value: 1n } } } },
    },
  });
  for (let i = 0; i < levels; i++) {
    binding = create(idl.core.BindingDataSchema, { value: { case: 'collection', value: { bindings: [binding] } } });
  }
  return binding;
}

/** `x > 0`, or that comparison or-ed with itself `levels` times. */
function condition(levels: number): idl.core.BooleanExpression {
  let expression = create(idl.core.BooleanExpressionSchema, {
    expr: {
      case: 'comparison',
      value: {
        operator: idl.core.ComparisonExpression_Operator.GT,
        leftValue: { val: { case: 'var', value: '.x' } },
        rightValue: { val: { case: 'primitive', value: { value: { case: 'integer', value: 0n } } } },
      },
    },
  });
  for (let i = 0; i < levels; i++) {
    expression = create(idl.core.BooleanExpressionSchema, {
      expr: {
        case: 'conjunction',
        value: {
          operator: idl.core.ConjunctionExpression_LogicalOperator.OR,
          leftExpression: expression,
          rightExpression: expression,
        },
      },
    });
  }
  return expression;
}

/**
 * `branches` nested branch nodes (each an `n0` whose case runs the next), the innermost running task `read` with
 * `xs` bound to `lists` nested lists; the innermost branch's condition nests `ors` levels of or. Built from the
 * inside out, one message at a time (a 5,000-deep initializer would itself overflow the stack).
 */
function nested(branches: number, options: { lists?: number; ors?: number } = {}): idl.core.WorkflowTemplate {
  let node = create(idl.core.NodeSchema, {
    id: 'n0',
    inputs: [
      { var: 'x', binding: promiseX },
      { var: 'f', binding: fileConstant },
      { var: 'xs', binding: options.lists === 0 ? none : nestedLists(options.lists ?? 2) },
    ],
    target: { case: 'taskNode', value: { reference: { case: 'referenceId', value: taskId } } },
  });
  for (let level = 0; level < branches; level++) {
    node = create(idl.core.NodeSchema, {
      id: 'n0',
      inputs: [{ var: '.x', binding: promiseX }],
      target: {
        case: 'branchNode',
        value: {
          ifElse: {
            case: { condition: condition(level === 0 ? (options.ors ?? 0) : 0), thenNode: node },
            default: { case: 'error', value: { failedNodeId: 'n0', message: 'no' } },
          },
        },
      },
    });
  }
  return create(idl.core.WorkflowTemplateSchema, {
    id: { resourceType: idl.core.ResourceType.WORKFLOW, name: 'nested' },
    interface: { inputs: { variables: { x: { type: INT } } }, outputs: { variables: {} } },
    nodes: [node],
  });
}

/** The workflow record the engine stores for a compiled closure. */
function record(closure: idl.core.CompiledWorkflowClosure): idl.admin.Workflow {
  return create(idl.admin.WorkflowSchema, {
    id: { resourceType: idl.core.ResourceType.WORKFLOW, name: 'nested', project: 'p', domain: 'd', version: 'v' },
    closure: { compiledWorkflow: closure, createdAt: { seconds: 1n } },
  });
}

describe('workflows nesting up to MAX_NESTING_DEPTH', () => {
  it.each([
    ['branches', { branches: N, lists: 0 }],
    ['branches and a constant', { branches: N - 2, lists: 2 }],
    ['branches and a condition', { branches: N - 1, lists: 0, ors: 1 }],
  ] as const)('compile (%s), and their stored record stays within MAX_MESSAGE_DEPTH', (_name, shape) => {
    const closure = compileWorkflow(nested(shape.branches, shape), [], tasks);
    const workflow = record(closure);
    expect(messageDepth(idl.admin.WorkflowSchema, workflow)).toBeLessThanOrEqual(MAX_MESSAGE_DEPTH);
    expect(fromBinary(idl.admin.WorkflowSchema, toBinary(idl.admin.WorkflowSchema, workflow)).id?.name).toBe('nested');
  });

  it.each([
    ['branches', { branches: N + 1, lists: 0 }],
    ['branches and a constant', { branches: N - 2, lists: 3 }],
    ['branches and a condition', { branches: N - 1, lists: 0, ors: 2 }],
  ] as const)('refuse one level more (%s) with NESTING_TOO_DEEP naming the node', (_name, shape) => {
    const template = nested(shape.branches, shape);
    for (const compile of [() => compileWorkflow(template, [], tasks), () => getRequirements(template)]) {
      const { code, id } = codeOf(compile);
      expect(code).toBe('NESTING_TOO_DEEP');
      expect(id).toMatch(/^n0(-n0)*$/);
    }
  });
});

describe('tasks and launch plans nesting up to MAX_NESTING_DEPTH', () => {
  const listOf = (levels: number) => {
    let type = INT;
    for (let i = 0; i < levels; i++)
      type = create(idl.core.LiteralTypeSchema, { type: { case: 'collectionType', value: type } });
    return type;
  };
  const template = (type: idl.core.LiteralType) =>
    create(idl.core.TaskTemplateSchema, {
      id: taskId,
      type: 'container',
      interface: { inputs: { variables: { x: { type } } }, outputs: { variables: {} } },
      target: { case: 'container', value: { image: 'img', args: ['run'] } },
    });

  it('compile a task whose type nests MAX_NESTING_DEPTH levels, and refuse one more naming the task', () => {
    expect(codeOf(() => compileTask(template(listOf(N)))).code).toBe('none');
    expect(codeOf(() => compileTask(template(listOf(N + 1))))).toEqual({ code: 'NESTING_TOO_DEEP', id: 'task read' });
  });

  it('accept a launch plan default nesting MAX_NESTING_DEPTH levels, and refuse one more naming the input', () => {
    const lpId = create(idl.core.IdentifierSchema, { resourceType: idl.core.ResourceType.LAUNCH_PLAN, name: 'lp' });
    const spec = (levels: number) => {
      let value = t.int().toLiteral(1);
      for (let i = 0; i < levels; i++) {
        value = create(idl.core.LiteralSchema, { value: { case: 'collection', value: { literals: [value] } } });
      }
      return create(idl.admin.LaunchPlanSpecSchema, {
        defaultInputs: { parameters: { x: { var: { type: listOf(levels) }, behavior: { case: 'default', value } } } },
      });
    };
    expect(codeOf(() => launchPlanInterfaceFromSpec(lpId, spec(N), undefined)).code).toBe('none');
    expect(codeOf(() => launchPlanInterfaceFromSpec(lpId, spec(N + 1), undefined))).toEqual({
      code: 'NESTING_TOO_DEEP',
      id: 'launch plan //lp/ input x',
    });
  });
});

describe('hostile workflows get NESTING_TOO_DEEP, never a stack overflow', () => {
  it('refuses 5,000 nested branches in compilation and in the requirements walk', () => {
    const template = nested(5_000);
    expect(codeOf(() => compileWorkflow(template, [], tasks)).code).toBe('NESTING_TOO_DEEP');
    expect(codeOf(() => getRequirements(template)).code).toBe('NESTING_TOO_DEEP');
    expect(codeOf(() => getRequirements(nested(1), [template])).code).toBe('NESTING_TOO_DEEP');
  });

  it('refuses a condition of 5,000 nested or', () => {
    expect(codeOf(() => compileWorkflow(nested(1, { ors: 5_000 }), [], tasks)).code).toBe('NESTING_TOO_DEEP');
  });

  it('refuses a task whose interface type nests 10,000 levels, and launch plan defaults nesting too deep', () => {
    let type = INT;
    for (let i = 0; i < 10_000; i++)
      type = create(idl.core.LiteralTypeSchema, { type: { case: 'collectionType', value: type } });
    const template = create(idl.core.TaskTemplateSchema, {
      id: taskId,
      type: 'container',
      interface: { inputs: { variables: { x: { type } } }, outputs: { variables: {} } },
      target: { case: 'container', value: { image: 'img', args: ['run'] } },
    });
    expect(codeOf(() => compileTask(template)).code).toBe('NESTING_TOO_DEEP');
    const lpId = create(idl.core.IdentifierSchema, { resourceType: idl.core.ResourceType.LAUNCH_PLAN, name: 'lp' });
    const spec = create(idl.admin.LaunchPlanSpecSchema, {
      defaultInputs: { parameters: { x: { var: { type }, behavior: { case: 'required', value: true } } } },
    });
    const refused = codeOf(() => launchPlanInterfaceFromSpec(lpId, spec, undefined));
    expect(refused.code).toBe('NESTING_TOO_DEEP');
    expect(refused.id).toBe('launch plan //lp/ input x');
  });
});
