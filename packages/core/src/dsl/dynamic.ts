// Dynamic tasks: a task whose function builds a workflow at run time from its input values (flytekit's
// @dynamic). Run by an engine, it writes a DynamicJobSpec that the engine compiles and runs under the node.
import { create } from '@bufbuild/protobuf';
import { DynamicJobSpecSchema, type DynamicJobSpec, type LiteralMap } from '../gen/flyteidl/core/index.js';
import { DefinitionError } from '../errors.js';
import { fromLiteralMap } from '../literals/literal-map.js';
import type { Empty, TypeMap, ValuesOf } from '../types/flyte-type.js';
import type { Entity } from './serialize.js';
import { subworkflowTemplates, workflowClosure } from './serialize.js';
import type { SerializationSettings } from './entities.js';
import { defineTask, type TaskConfig, type TaskDefinition, type TaskRunContext } from './task.js';
import { workflow, type WorkflowOutputs } from './workflow.js';

/** The builder of a dynamic task: receives input values, calls tasks and workflows, returns its outputs. */
export type DynamicBuilder<I extends TypeMap, O extends TypeMap> = (
  inputs: ValuesOf<I>,
  context: TaskRunContext,
) => WorkflowOutputs<O>;

/** What expanding a dynamic task gives: the job spec, and the entities it uses (their functions must run). */
export interface DynamicExpansion {
  /** The workflow to run under the node. */
  readonly spec: DynamicJobSpec;
  /** Tasks, workflows and launch plans the builder called. */
  readonly dependencies: readonly Entity[];
}

/** A dynamic task: a task whose run builds the workflow to execute. */
export interface DynamicTaskDefinition<I extends TypeMap = TypeMap, O extends TypeMap = TypeMap> extends TaskDefinition<
  I,
  O
> {
  /** Builds the DynamicJobSpec for these inputs; its tasks are identified with `settings`. */
  expand(inputs: LiteralMap, context: TaskRunContext, settings: SerializationSettings): Promise<DynamicExpansion>;
}

/**
 * Defines a dynamic task: `builder` runs at execution time with the input values and records the nodes to run,
 * exactly as a workflow builder does, except that it sees values instead of promises.
 *
 * ```ts
 * const fanOut = dynamic(
 *   { name: 'demo.fan_out', inputs: { n: t.int() }, outputs: { total: t.int() } },
 *   ({ n }) => {
 *     const parts = Array.from({ length: n }, (_, i) => square({ x: i }).y);
 *     return { total: sum({ xs: parts }).total };
 *   },
 * );
 * ```
 * @throws {DefinitionError} `INVALID_DEFINITION` for a malformed definition.
 */
export function dynamic<const I extends TypeMap = Empty, const O extends TypeMap = Empty>(
  config: TaskConfig<I, O>,
  builder: DynamicBuilder<I, O>,
): DynamicTaskDefinition<I, O> {
  if (typeof builder !== 'function') {
    throw new DefinitionError(
      'INVALID_DEFINITION',
      `dynamic task ${String(config?.name)}: the builder must be a function`,
      {
        id: config?.name,
      },
    );
  }
  if (config?.worker === true) {
    throw new DefinitionError(
      'INVALID_DEFINITION',
      `dynamic task ${String(config.name)}: worker is not supported, the builder runs on the engine's thread`,
      { id: config.name },
    );
  }
  const name = config.name;
  const expand = async (
    literals: LiteralMap,
    context: TaskRunContext,
    settings: SerializationSettings,
  ): Promise<DynamicExpansion> => {
    const values = fromLiteralMap((config.inputs ?? {}) as I, literals, { path: `${name}.inputs` });
    const outputs = (config.outputs ?? {}) as O;
    const built = workflow({ name: `${name}.dynamic`, outputs }, () => builder(values, context));
    const template = built.template(settings);
    const spec = create(DynamicJobSpecSchema, {
      nodes: template.nodes,
      minSuccesses: BigInt(template.nodes.length),
      outputs: template.outputs,
      tasks: workflowClosure(built, settings).tasks,
      subworkflows: subworkflowTemplates(built, settings),
    });
    return { spec, dependencies: built.dependencies() };
  };
  return defineTask<I, O>(
    config,
    () => {
      throw new DefinitionError(
        'INVALID_DEFINITION',
        `dynamic task ${name} builds a workflow: run it through an engine, not with run()`,
        { id: name },
      );
    },
    { expand: { value: expand }, dynamic: { value: true, enumerable: true } },
  ) as DynamicTaskDefinition<I, O>;
}
