// Loading flytekit-serialized packages (`pyflyte package` output: one protobuf per entity). Decoding protobuf
// as the wrong message can "succeed" (unknown fields are kept aside), so a file is classified by trying each
// entity message and accepting only a decode with no unknown field anywhere and the fields that identify
// that kind of entity.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { create, fromBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import { FlyteError, idl } from '@flyte-ts/core';
import { idKey } from './ids.js';

/** A serialized entity, classified. */
export type SerializedEntity =
  | { readonly kind: 'task'; readonly file: string; readonly spec: idl.admin.TaskSpec }
  | { readonly kind: 'workflow-closure'; readonly file: string; readonly closure: idl.core.WorkflowClosure }
  | { readonly kind: 'workflow-spec'; readonly file: string; readonly spec: idl.admin.WorkflowSpec }
  | { readonly kind: 'launch-plan'; readonly file: string; readonly launchPlan: idl.admin.LaunchPlan };

/** A file is not a serialized Flyte entity (truncated, corrupt, or another message). */
export class UnrecognizedEntityError extends FlyteError<'UNRECOGNIZED_ENTITY'> {
  /**
   * @param file the file that is not an entity (the error's id)
   * @param reasons why it is not each kind of entity
   */
  constructor(file: string, reasons: readonly string[]) {
    super('UNRECOGNIZED_ENTITY', `${file} is not a serialized Flyte entity: ${reasons.join('; ')}`, { id: file });
  }
}

/**
 * Where a decoded message (or anything inside it) holds a field its schema does not know, e.g.
 * `flyteidl.core.Node field 12`; undefined when it holds none.
 */
function unknownField(value: unknown, seen = new Set<object>()): string | undefined {
  if (value === null || typeof value !== 'object' || seen.has(value) || value instanceof Uint8Array) return undefined;
  seen.add(value);
  if (Array.isArray(value)) {
    for (const item of value) {
      const found = unknownField(item, seen);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  const record = value as { $typeName?: string; $unknown?: { no: number }[] };
  if (Array.isArray(record.$unknown) && record.$unknown.length > 0) {
    return `${record.$typeName ?? 'message'} field ${record.$unknown.map((f) => f.no).join(', ')}`;
  }
  for (const item of Object.values(value)) {
    const found = unknownField(item, seen);
    if (found !== undefined) return found;
  }
  return undefined;
}

interface Candidate<Desc extends DescMessage> {
  readonly schema: Desc;
  readonly name: string;
  /** Why a cleanly decoded message is still not this entity (undefined: it is). */
  readonly identify: (message: MessageShape<Desc>) => string | undefined;
  readonly wrap: (file: string, message: MessageShape<Desc>) => SerializedEntity;
}

const { ResourceType } = idl.core;

const isTaskTemplate = (t: idl.core.TaskTemplate | undefined) =>
  t?.id !== undefined && t.id.name !== '' && t.id.resourceType === ResourceType.TASK;
const isWorkflowTemplate = (w: idl.core.WorkflowTemplate | undefined) =>
  w?.id !== undefined && w.id.name !== '' && w.id.resourceType === ResourceType.WORKFLOW;

const candidates: readonly Candidate<DescMessage>[] = [
  {
    schema: idl.admin.TaskSpecSchema,
    name: 'TaskSpec',
    identify: (m) => (isTaskTemplate((m as idl.admin.TaskSpec).template) ? undefined : 'no task template id'),
    wrap: (file, m) => ({ kind: 'task', file, spec: m as idl.admin.TaskSpec }),
  },
  {
    schema: idl.core.WorkflowClosureSchema,
    name: 'WorkflowClosure',
    identify: (m) => {
      const closure = m as idl.core.WorkflowClosure;
      if (!isWorkflowTemplate(closure.workflow)) return 'no workflow template id';
      if (closure.workflow!.nodes.length === 0) return 'no workflow nodes';
      return closure.tasks.every(isTaskTemplate) ? undefined : 'tasks without task ids';
    },
    wrap: (file, m) => ({ kind: 'workflow-closure', file, closure: m as idl.core.WorkflowClosure }),
  },
  {
    schema: idl.admin.WorkflowSpecSchema,
    name: 'WorkflowSpec',
    identify: (m) => {
      const spec = m as idl.admin.WorkflowSpec;
      if (!isWorkflowTemplate(spec.template)) return 'no workflow template id';
      return spec.subWorkflows.every(isWorkflowTemplate) ? undefined : 'subworkflows without workflow ids';
    },
    wrap: (file, m) => ({ kind: 'workflow-spec', file, spec: m as idl.admin.WorkflowSpec }),
  },
  {
    schema: idl.admin.LaunchPlanSchema,
    name: 'LaunchPlan',
    identify: (m) => {
      const lp = m as idl.admin.LaunchPlan;
      if (lp.id?.resourceType !== ResourceType.LAUNCH_PLAN || lp.id.name === '') return 'no launch plan id';
      return lp.spec?.workflowId?.resourceType === ResourceType.WORKFLOW ? undefined : 'no workflow id in the spec';
    },
    wrap: (file, m) => ({ kind: 'launch-plan', file, launchPlan: m as idl.admin.LaunchPlan }),
  },
];

/**
 * Classifies one serialized file by its content.
 * @throws {UnrecognizedEntityError} `UNRECOGNIZED_ENTITY` naming the file, when it decodes cleanly as no entity
 *   (truncated, random, or another message), or as more than one.
 */
export function classifySerializedEntity(file: string, bytes: Uint8Array): SerializedEntity {
  const reasons: string[] = [];
  const matches: SerializedEntity[] = [];
  for (const candidate of candidates) {
    let message: MessageShape<DescMessage>;
    try {
      message = fromBinary(candidate.schema, bytes);
    } catch (error) {
      reasons.push(`not a ${candidate.name} (${error instanceof Error ? error.message : String(error)})`);
      continue;
    }
    const unknown = unknownField(message);
    if (unknown !== undefined) {
      reasons.push(`not a ${candidate.name} (unknown ${unknown})`);
      continue;
    }
    const why = candidate.identify(message);
    if (why !== undefined) {
      reasons.push(`not a ${candidate.name} (${why})`);
      continue;
    }
    matches.push(candidate.wrap(file, message));
  }
  if (matches.length === 1) return matches[0]!;
  // A closure without tasks and a spec without subworkflows are the same bytes (one workflow template):
  // the same entity either way, read as a closure.
  const [first, second] = matches;
  if (
    matches.length === 2 &&
    first?.kind === 'workflow-closure' &&
    second?.kind === 'workflow-spec' &&
    first.closure.tasks.length === 0 &&
    second.spec.subWorkflows.length === 0
  ) {
    return first;
  }
  if (matches.length > 1) reasons.push(`ambiguous: decodes as ${matches.map((m) => m.kind).join(' and ')}`);
  throw new UnrecognizedEntityError(file, reasons);
}

/** A loaded package: every entity, and what registration needs. */
export interface LoadedPackage {
  /** Every file, classified, in the order given. */
  readonly entities: readonly SerializedEntity[];
  /** Task specs (from task files, and the tasks of workflow closures), each id once. */
  readonly tasks: readonly idl.admin.TaskSpec[];
  /** Workflow specs (closures become specs without subworkflows), each id once. */
  readonly workflows: readonly idl.admin.WorkflowSpec[];
  /** Launch plans. */
  readonly launchPlans: readonly idl.admin.LaunchPlan[];
}

/**
 * Classifies serialized files and gathers the entities ready to register (or to `compilePackage`).
 * @throws {UnrecognizedEntityError} for the first file that is not an entity.
 */
export function loadSerializedEntities(
  files: readonly { readonly name: string; readonly bytes: Uint8Array }[],
): LoadedPackage {
  const entities = files.map((f) => classifySerializedEntity(f.name, f.bytes));
  const tasks = new Map<string, idl.admin.TaskSpec>();
  const workflows = new Map<string, idl.admin.WorkflowSpec>();
  const launchPlans: idl.admin.LaunchPlan[] = [];
  const key = idKey;
  for (const entity of entities) {
    switch (entity.kind) {
      case 'task':
        tasks.set(key(entity.spec.template?.id), entity.spec);
        break;
      case 'workflow-closure':
        for (const template of entity.closure.tasks) {
          if (!tasks.has(key(template.id))) tasks.set(key(template.id), create(idl.admin.TaskSpecSchema, { template }));
        }
        if (!workflows.has(key(entity.closure.workflow?.id))) {
          workflows.set(
            key(entity.closure.workflow?.id),
            create(idl.admin.WorkflowSpecSchema, { template: entity.closure.workflow }),
          );
        }
        break;
      case 'workflow-spec':
        // A spec carries its subworkflows: it replaces a closure of the same workflow.
        workflows.set(key(entity.spec.template?.id), entity.spec);
        break;
      case 'launch-plan':
        launchPlans.push(entity.launchPlan);
        break;
    }
  }
  return { entities, tasks: [...tasks.values()], workflows: [...workflows.values()], launchPlans };
}

/** Loads every `.pb` file of a directory (sorted by name) with {@link loadSerializedEntities}. */
export async function loadSerializedDirectory(dir: string): Promise<LoadedPackage> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.pb')).sort();
  const files = await Promise.all(names.map(async (name) => ({ name, bytes: await readFile(join(dir, name)) })));
  return loadSerializedEntities(files);
}
