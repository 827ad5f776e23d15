// Malformed tasks and workflows: each must yield the right Flyte compiler error code on the right node id,
// never a crash (and never a silent success).
import { clone, create, type MessageInitShape } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { idl, MAX_NESTING_DEPTH, NestingTooDeepError, t } from '@flyte-ts/core';
import {
  CompileError,
  compileTask,
  compileWorkflow,
  type CompilerErrorCode,
  type InterfaceProvider,
} from '@flyte-ts/compiler';

type LT = idl.core.LiteralType;
const INT = t.int().literalType;
const FLOAT = t.float().literalType;
const STR = t.string().literalType;

const taskId = (name: string) => create(idl.core.IdentifierSchema, { resourceType: idl.core.ResourceType.TASK, name });
const workflowId = (name: string) =>
  create(idl.core.IdentifierSchema, { resourceType: idl.core.ResourceType.WORKFLOW, name });
const lpId = (name: string) =>
  create(idl.core.IdentifierSchema, { resourceType: idl.core.ResourceType.LAUNCH_PLAN, name });
const vars = (types: Record<string, LT>) => ({
  variables: Object.fromEntries(Object.entries(types).map(([k, type]) => [k, { type }])),
});

const union = (...variants: LT[]) =>
  create(idl.core.LiteralTypeSchema, { type: { case: 'unionType', value: { variants } } });
function tagged(type: LT, tag: string): LT {
  const copy = clone(idl.core.LiteralTypeSchema, type);
  copy.structure = create(idl.core.TypeStructureSchema, { tag });
  return copy;
}

/** A task template with another container. */
function withContainer(
  template: idl.core.TaskTemplate,
  container: MessageInitShape<typeof idl.core.ContainerSchema>,
): idl.core.TaskTemplate {
  const copy = clone(idl.core.TaskTemplateSchema, template);
  copy.target = { case: 'container', value: create(idl.core.ContainerSchema, container) };
  return copy;
}

function taskTemplate(name: string, inputs: Record<string, LT>, outputs: Record<string, LT>): idl.core.TaskTemplate {
  return create(idl.core.TaskTemplateSchema, {
    id: taskId(name),
    type: 'container',
    interface: { inputs: vars(inputs), outputs: vars(outputs) },
    target: { case: 'container', value: { image: 'img', args: ['run'] } },
  });
}

// The tasks every workflow below may use.
const tasks = [
  taskTemplate('inc', { x: INT }, { y: INT }),
  taskTemplate('two', { a: INT, b: INT }, { c: INT }),
  taskTemplate('upper', { s: STR }, { s: STR }),
  taskTemplate('describe', { x: INT }, { y: STR }),
  taskTemplate('halve', { x: FLOAT }, { y: FLOAT }),
  taskTemplate('pick', { color: t.enum(['red', 'green']).literalType }, {}),
  // Two list variants told apart only by their tags: a list of integers fits both.
  taskTemplate(
    'either',
    { xs: union(tagged(t.list(t.int()).literalType, 'a'), tagged(t.list(t.int()).literalType, 'b')) },
    {},
  ),
  taskTemplate('names', { xs: t.union(t.list(t.string()), t.map(t.string())).literalType }, {}),
  taskTemplate(
    'point',
    {},
    {
      p: create(idl.core.LiteralTypeSchema, {
        type: { case: 'simple', value: idl.core.SimpleType.STRUCT },
        structure: { dataclassType: { x: INT } },
      }),
    },
  ),
].map((template) => compileTask(template));

type BD = MessageInitShape<typeof idl.core.BindingDataSchema>;
const promise = (nodeId: string, v: string, attrPath: string[] = []): BD => ({
  value: {
    case: 'promise',
    value: { nodeId, var: v, attrPath: attrPath.map((a) => ({ value: { case: 'stringValue' as const, value: a } })) },
  },
});
const int = (n: number): BD => ({
  value: {
    case: 'scalar',
    value: { value: { case: 'primitive', value: { value: { case: 'integer', value: BigInt(n) } } } },
  },
});
const str = (s: string): BD => ({
  value: {
    case: 'scalar',
    value: { value: { case: 'primitive', value: { value: { case: 'stringValue', value: s } } } },
  },
});
const list = (...items: BD[]): BD => ({ value: { case: 'collection', value: { bindings: items } } });
const bindings = (inputs: Record<string, BD> | [string, BD][]) =>
  (Array.isArray(inputs) ? inputs : Object.entries(inputs)).map(([v, binding]) => ({ var: v, binding }));

type NodeInit = MessageInitShape<typeof idl.core.NodeSchema>;
const taskNode = (
  id: string,
  taskName: string,
  inputs: Record<string, BD> | [string, BD][],
  extra: { upstreamNodeIds?: string[]; outputAliases?: { var: string; alias: string }[] } = {},
): NodeInit => ({
  id,
  inputs: bindings(inputs),
  target: { case: 'taskNode', value: { reference: { case: 'referenceId', value: taskId(taskName) } } },
  ...extra,
});

function workflow(
  nodes: NodeInit[],
  options: {
    inputs?: Record<string, LT>;
    outputs?: Record<string, LT>;
    out?: Record<string, BD>;
    name?: string;
    failureNode?: NodeInit;
  } = {},
): idl.core.WorkflowTemplate {
  return create(idl.core.WorkflowTemplateSchema, {
    id: workflowId(options.name ?? 'wf'),
    interface: { inputs: vars(options.inputs ?? { x: INT }), outputs: vars(options.outputs ?? {}) },
    nodes,
    outputs: bindings(options.out ?? {}),
    ...(options.failureNode === undefined ? {} : { failureNode: options.failureNode }),
  });
}

const branch = (
  id: string,
  ifElse: MessageInitShape<typeof idl.core.IfElseBlockSchema>,
  inputs: Record<string, BD> = { '.x': promise('', 'x') },
): NodeInit => ({
  id,
  inputs: bindings(inputs),
  target: { case: 'branchNode', value: { ifElse } },
});
const gt = (left: string, right: number): MessageInitShape<typeof idl.core.BooleanExpressionSchema> => ({
  expr: {
    case: 'comparison',
    value: {
      operator: idl.core.ComparisonExpression_Operator.GT,
      leftValue: { val: { case: 'var', value: left } },
      rightValue: { val: { case: 'primitive', value: { value: { case: 'integer', value: BigInt(right) } } } },
    },
  },
});

/** A nested branch `depth` levels deep; the innermost case binds a string to an int input. */
function nestedBranch(depth: number): NodeInit {
  let inner: NodeInit = taskNode('n0', 'inc', { x: str('deep') });
  for (let level = 1; level < depth; level++) {
    inner = branch('n0', {
      case: { condition: gt('.x', level), thenNode: inner },
      default: { case: 'error', value: { message: 'no' } },
    });
  }
  return branch('n0', {
    case: { condition: gt('.x', 0), thenNode: inner },
    default: { case: 'error', value: { message: 'no' } },
  });
}

interface Case {
  readonly name: string;
  readonly code: CompilerErrorCode;
  readonly nodeId: string;
  readonly compile: () => unknown;
}

const wfCase = (
  name: string,
  code: CompilerErrorCode,
  nodeId: string,
  template: () => idl.core.WorkflowTemplate,
  more: { subs?: idl.core.WorkflowTemplate[]; launchPlans?: InterfaceProvider[] } = {},
): Case => ({
  name,
  code,
  nodeId,
  compile: () => compileWorkflow(template(), more.subs ?? [], tasks, more.launchPlans ?? []),
});

const cases: Case[] = [
  wfCase('a cycle through bindings', 'CycleDetected', 'start-node', () =>
    workflow([
      taskNode('n0', 'two', { a: promise('', 'x'), b: promise('n1', 'y') }),
      taskNode('n1', 'inc', { x: promise('n0', 'c') }),
    ]),
  ),
  wfCase('a cycle through explicit dependencies', 'CycleDetected', 'start-node', () =>
    workflow([
      taskNode('n0', 'inc', { x: promise('', 'x') }, { upstreamNodeIds: ['n1'] }),
      taskNode('n1', 'inc', { x: promise('', 'x') }, { upstreamNodeIds: ['n0'] }),
    ]),
  ),
  wfCase('a detached cycle is unreachable', 'UnreachableNodes', 'start-node', () =>
    workflow([taskNode('n0', 'inc', { x: promise('n1', 'y') }), taskNode('n1', 'inc', { x: promise('n0', 'y') })]),
  ),
  wfCase('a dependency on a missing node', 'UnreachableNodes', 'start-node', () =>
    workflow([taskNode('n0', 'inc', { x: int(1) }, { upstreamNodeIds: ['ghost'] })]),
  ),
  wfCase('a promise of a missing node', 'NodeReferenceNotFound', 'ghost', () =>
    workflow([taskNode('n0', 'inc', { x: promise('ghost', 'y') })]),
  ),
  wfCase('a missing task', 'TaskReferenceNotFound', 'start-node', () => workflow([taskNode('n0', 'nope', {})])),
  wfCase('a missing task in a branch case', 'TaskReferenceNotFound', 'start-node', () =>
    workflow([
      branch('n0', {
        case: { condition: gt('.x', 1), thenNode: taskNode('n0', 'nope', {}) },
        default: { case: 'error', value: {} },
      }),
    ]),
  ),
  wfCase('a missing subworkflow', 'WorkflowReferenceNotFound', 'n0', () =>
    workflow([
      {
        id: 'n0',
        target: { case: 'workflowNode', value: { reference: { case: 'subWorkflowRef', value: workflowId('nope') } } },
      },
    ]),
  ),
  wfCase('a missing launch plan', 'WorkflowReferenceNotFound', 'start-node', () =>
    workflow([
      {
        id: 'n0',
        target: { case: 'workflowNode', value: { reference: { case: 'launchplanRef', value: lpId('nope') } } },
      },
    ]),
  ),
  wfCase('an integer promise bound to a string input', 'MismatchingTypes', 'n1', () =>
    workflow([taskNode('n0', 'inc', { x: promise('', 'x') }), taskNode('n1', 'upper', { s: promise('n0', 'y') })]),
  ),
  wfCase('an integer promise bound to a float input (no widening)', 'MismatchingTypes', 'n1', () =>
    workflow([taskNode('n0', 'inc', { x: promise('', 'x') }), taskNode('n1', 'halve', { x: promise('n0', 'y') })]),
  ),
  wfCase('a string constant bound to an integer input', 'MismatchingTypes', 'n0', () =>
    workflow([taskNode('n0', 'inc', { x: str('1') })]),
  ),
  wfCase('an index into a value that is not a list', 'MismatchingTypes', 'n1', () =>
    workflow([taskNode('n0', 'inc', { x: promise('', 'x') }), taskNode('n1', 'inc', { x: promise('n0', '[0].y') })]),
  ),
  wfCase('two nodes with one id', 'DuplicateId', 'n0', () =>
    workflow([taskNode('n0', 'inc', { x: promise('', 'x') }), taskNode('n0', 'inc', { x: int(2) })]),
  ),
  wfCase(
    'two subworkflows with one id',
    'DuplicateId',
    'resource_type:WORKFLOW name:"sub"',
    () => workflow([taskNode('n0', 'inc', { x: int(1) })]),
    {
      subs: [
        workflow([taskNode('n0', 'inc', { x: int(1) })], { name: 'sub' }),
        workflow([taskNode('n0', 'inc', { x: int(2) })], { name: 'sub' }),
      ],
    },
  ),
  wfCase('an unbound input', 'ParameterNotBound', 'n0', () => workflow([taskNode('n0', 'two', { a: int(1) })])),
  wfCase('an unbound workflow output', 'ParameterNotBound', 'end-node', () =>
    workflow([taskNode('n0', 'inc', { x: int(1) })], { outputs: { y: INT } }),
  ),
  wfCase('an input bound twice', 'ParameterBoundMoreThanOnce', 'n0', () =>
    workflow([
      taskNode('n0', 'inc', [
        ['x', int(1)],
        ['x', int(2)],
      ]),
    ]),
  ),
  wfCase('an unknown input', 'VariableNameNotFound', 'n0', () =>
    workflow([taskNode('n0', 'inc', { x: int(1), z: int(2) })]),
  ),
  wfCase('an unknown output of the producer', 'VariableNameNotFound', 'n0', () =>
    workflow([taskNode('n0', 'inc', { x: int(1) }), taskNode('n1', 'inc', { x: promise('n0', 'nope') })]),
  ),
  wfCase('an unknown workflow input', 'VariableNameNotFound', 'start-node', () =>
    workflow([taskNode('n0', 'inc', { x: promise('', 'nope') })]),
  ),
  wfCase('a promise name that does not parse', 'SyntaxError', 'n1', () =>
    workflow([taskNode('n0', 'inc', { x: int(1) }), taskNode('n1', 'inc', { x: promise('n0', 'a.b') })]),
  ),
  wfCase('an attribute path to a missing field', 'FieldNotFound', 'n1', () =>
    workflow([taskNode('n0', 'point', {}), taskNode('n1', 'inc', { x: promise('n0', 'p', ['z']) })]),
  ),
  wfCase('a branch without else or error', 'BranchNodeHasNoDefault', 'n0', () =>
    workflow([branch('n0', { case: { condition: gt('.x', 1), thenNode: taskNode('n0', 'inc', { x: int(1) }) } })]),
  ),
  wfCase('a branch without case', 'BranchNodeHasNoCondition', 'n0', () =>
    workflow([branch('n0', { default: { case: 'error', value: {} } })]),
  ),
  wfCase('a case without condition', 'BranchNodeHasNoCondition', 'n0', () =>
    workflow([
      branch('n0', { case: { thenNode: taskNode('n0', 'inc', { x: int(1) }) }, default: { case: 'error', value: {} } }),
    ]),
  ),
  wfCase('an elif without node', 'BranchNodeIdNotFound', 'n0', () =>
    workflow([
      branch('n0', {
        case: { condition: gt('.x', 1), thenNode: taskNode('n0', 'inc', { x: int(1) }) },
        other: [{ condition: gt('.x', 0) }],
        default: { case: 'error', value: {} },
      }),
    ]),
  ),
  wfCase('a condition comparing an integer with a string', 'MismatchingTypes', 'n0', () =>
    workflow([
      branch('n0', {
        case: {
          condition: {
            expr: {
              case: 'comparison',
              value: {
                leftValue: { val: { case: 'var', value: '.x' } },
                rightValue: { val: { case: 'primitive', value: { value: { case: 'stringValue', value: '1' } } } },
              },
            },
          },
          thenNode: taskNode('n0', 'inc', { x: int(1) }),
        },
        default: { case: 'error', value: {} },
      }),
    ]),
  ),
  wfCase('cases whose outputs have different types', 'MismatchingTypes', 'n0-n1', () =>
    workflow([
      branch('n0', {
        case: { condition: gt('.x', 1), thenNode: taskNode('n0', 'inc', { x: int(1) }) },
        default: { case: 'elseNode', value: taskNode('n1', 'describe', { x: int(1) }) },
      }),
    ]),
  ),
  wfCase('a type error three branches deep', 'MismatchingTypes', 'n0-n0-n0-n0', () => workflow([nestedBranch(3)])),
  wfCase('an empty workflow', 'NoNodesFound', 'resource_type:WORKFLOW name:"wf"', () => workflow([])),
  wfCase('an enum value outside the enum', 'IllegalEnumValue', 'n0', () =>
    workflow([taskNode('n0', 'pick', { color: str('blue') })]),
  ),
  wfCase('a list matching two variants of a union', 'AmbiguousBindingUnionValue', 'n0', () =>
    workflow([taskNode('n0', 'either', { xs: list(int(1), int(2)) })]),
  ),
  wfCase('a list matching no variant of a union', 'IncompatibleBindingUnionValue', 'n0', () =>
    workflow([taskNode('n0', 'names', { xs: list(int(1)) })]),
  ),
  wfCase('a list bound to a scalar input', 'MismatchingBindings', 'n0', () =>
    workflow([taskNode('n0', 'inc', { x: list(int(1)) })]),
  ),
  wfCase('an empty binding', 'MismatchingBindings', 'n0', () => workflow([taskNode('n0', 'inc', { x: {} })])),
  wfCase('a node without target', 'ValueRequired', 'n0', () => workflow([{ id: 'n0' }])),
  wfCase('a gate without condition', 'NoConditionFound', 'n0', () =>
    workflow([{ id: 'n0', target: { case: 'gateNode', value: {} } }]),
  ),
  wfCase('a signal gate without type', 'ValueRequired', 'n0', () =>
    workflow([
      {
        id: 'n0',
        target: {
          case: 'gateNode',
          value: { condition: { case: 'signal', value: { signalId: 's', outputVariableName: 'o0' } } },
        },
      },
    ]),
  ),
  wfCase('an array node without sub-node', 'ValueRequired', 'n0', () =>
    workflow([{ id: 'n0', target: { case: 'arrayNode', value: {} } }]),
  ),
  wfCase('a duplicate output alias', 'DuplicateAlias', 'n0', () =>
    workflow([
      taskNode(
        'n0',
        'inc',
        { x: int(1) },
        {
          outputAliases: [
            { var: 'y', alias: 'a' },
            { var: 'y', alias: 'b' },
          ],
        },
      ),
      taskNode('n1', 'inc', { x: promise('n0', 'a') }),
    ]),
  ),
  wfCase('a failure node with an unbound input', 'ParameterNotBound', 'fn0', () =>
    workflow([taskNode('n0', 'inc', { x: promise('', 'x') })], {
      failureNode: taskNode('fn0', 'two', { a: promise('', 'x') }),
    }),
  ),
  wfCase(
    'a subworkflow that calls itself',
    'CycleDetected',
    'start-node',
    () =>
      workflow([
        {
          id: 'n0',
          target: { case: 'workflowNode', value: { reference: { case: 'subWorkflowRef', value: workflowId('loop') } } },
        },
      ]),
    {
      subs: [
        workflow(
          [
            {
              id: 'n0',
              target: {
                case: 'workflowNode',
                value: { reference: { case: 'subWorkflowRef', value: workflowId('loop') } },
              },
            },
          ],
          { name: 'loop' },
        ),
      ],
    },
  ),
  wfCase(
    'a launch plan input left unbound',
    'ParameterNotBound',
    'n0',
    () =>
      workflow([
        {
          id: 'n0',
          target: { case: 'workflowNode', value: { reference: { case: 'launchplanRef', value: lpId('lp') } } },
        },
      ]),
    {
      launchPlans: [
        {
          id: lpId('lp'),
          expectedInputs: create(idl.core.ParameterMapSchema, {
            parameters: { n: { var: { type: INT }, behavior: { case: 'required', value: true } } },
          }),
          expectedOutputs: create(idl.core.VariableMapSchema),
        },
      ],
    },
  ),
  {
    name: 'a task without image',
    code: 'ValueRequired',
    nodeId: 'container',
    compile: () => compileTask(withContainer(taskTemplate('t', {}, {}), { args: ['x'] })),
  },
  {
    name: 'a task with inputs and no command',
    code: 'ValueRequired',
    nodeId: 'container',
    compile: () => compileTask(withContainer(taskTemplate('t', { x: INT }, {}), { image: 'i' })),
  },
  {
    name: 'a task resource that is not a quantity',
    code: 'UnrecognizedValue',
    nodeId: 'resources.MEMORY',
    compile: () =>
      compileTask(
        withContainer(taskTemplate('t', {}, {}), {
          image: 'i',
          resources: { limits: [{ name: idl.core.Resources_ResourceName.MEMORY, value: 'lots' }] },
        }),
      ),
  },
  {
    name: 'a pod task with a container name Kubernetes rejects',
    code: 'InvalidValue',
    nodeId: 'root',
    compile: () =>
      compileTask(
        create(idl.core.TaskTemplateSchema, {
          id: taskId('pod'),
          target: { case: 'k8sPod', value: { podSpec: { containers: [{ name: 'Main_Container' }] } } },
        }),
      ),
  },
  {
    name: 'a task without id',
    code: 'ValueRequired',
    nodeId: 'root',
    compile: () => compileTask(create(idl.core.TaskTemplateSchema)),
  },
];

describe('malformed workflows and tasks', () => {
  it('has at least 30 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    let error: unknown;
    try {
      c.compile();
    } catch (e) {
      error = e;
    }
    expect(error, 'compiled without error').toBeInstanceOf(CompileError);
    const issues = (error as CompileError).issues;
    expect(
      issues.some((i) => i.code === c.code && i.nodeId === c.nodeId),
      `expected ${c.code} at ${c.nodeId}, got ${JSON.stringify(issues)}`,
    ).toBe(true);
  });

  it('reports every issue, not only the first', () => {
    try {
      compileWorkflow(
        workflow([taskNode('n0', 'two', { a: str('x') }), taskNode('n1', 'inc', { x: int(1), z: int(1) })]),
        [],
        tasks,
      );
      expect.unreachable();
    } catch (error) {
      const codes = (error as CompileError).issues.map((i) => `${i.code}@${i.nodeId}`);
      expect(codes).toEqual(
        expect.arrayContaining(['MismatchingTypes@n0', 'ParameterNotBound@n0', 'VariableNameNotFound@n1']),
      );
      expect((error as CompileError).code).toBe('COMPILE_FAILED');
    }
  });

  it('compiles nesting up to the limit, refuses deeper nesting with NESTING_TOO_DEEP, never a stack overflow', () => {
    const deepest = workflow([nestedBranch(MAX_NESTING_DEPTH)]);
    const innermost = Array.from({ length: MAX_NESTING_DEPTH + 1 }, () => 'n0').join('-');
    try {
      compileWorkflow(deepest, [], tasks);
      expect.unreachable();
    } catch (error) {
      expect((error as CompileError).has('MismatchingTypes', innermost)).toBe(true);
    }
    for (const depth of [MAX_NESTING_DEPTH + 1, 400]) {
      let error: unknown;
      try {
        compileWorkflow(workflow([nestedBranch(depth)]), [], tasks);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(NestingTooDeepError);
      expect((error as NestingTooDeepError).code).toBe('NESTING_TOO_DEEP');
      // The first node past the limit, named as compilation names it.
      expect((error as NestingTooDeepError).id).toBe(innermost);
    }
    let chain: idl.core.WorkflowTemplate = workflow([taskNode('n0', 'inc', { x: promise('', 'x') })], {
      name: 'level0',
      outputs: { y: INT },
      out: { y: promise('n0', 'y') },
    });
    const subs = [chain];
    for (let level = 1; level < 300; level++) {
      chain = workflow(
        [
          {
            id: 'n0',
            inputs: bindings({ x: promise('', 'x') }),
            target: {
              case: 'workflowNode',
              value: { reference: { case: 'subWorkflowRef', value: workflowId(`level${level - 1}`) } },
            },
          },
        ],
        { name: `level${level}`, outputs: { y: INT }, out: { y: promise('n0', 'y') } },
      );
      subs.push(chain);
    }
    const closure = compileWorkflow(chain, subs.slice(0, -1), tasks);
    expect(closure.subWorkflows).toHaveLength(299);
  });
});
