// Compile errors: every issue carries Flyte's compiler error code and the id of the node it is about.
// Issues are collected in scopes (as flytepropeller does): a scope "has errors" when it or any scope nested
// in it collected one, so validation can go on after a failure and report everything it finds.
import { FlyteError, type idl } from '@flyte-ts/core';
import { identifierText } from './ids.js';

/** Flyte's compiler error codes (flytepropeller `pkg/compiler/errors`). */
export const COMPILER_ERROR_CODES = [
  'AmbiguousBindingUnionValue',
  'BranchNodeHasNoCondition',
  'BranchNodeHasNoDefault',
  'BranchNodeIdNotFound',
  'CycleDetected',
  'DuplicateAlias',
  'DuplicateId',
  'FieldNotFound',
  'IllegalEnumValue',
  'IncompatibleBindingUnionValue',
  'InvalidValue',
  'MismatchingBindings',
  'MismatchingInterfaces',
  'MismatchingTypes',
  'NoConditionFound',
  'NodeReferenceNotFound',
  'NoNodesFound',
  'ParameterBoundMoreThanOnce',
  'ParameterNotBound',
  'SyntaxError',
  'TaskReferenceNotFound',
  'UnreachableNodes',
  'UnrecognizedValue',
  'ValueRequired',
  'VariableNameNotFound',
  'WorkflowReferenceNotFound',
] as const;

/** One of {@link COMPILER_ERROR_CODES}. */
export type CompilerErrorCode = (typeof COMPILER_ERROR_CODES)[number];

/** One problem found by the compiler. */
export interface CompileIssue {
  /** Flyte's error code. */
  readonly code: CompilerErrorCode;
  /** Id of the node the issue is about (`start-node` for workflow-level issues). */
  readonly nodeId: string;
  /** What is wrong, for humans. */
  readonly message: string;
}

/**
 * Compilation failed. `issues` lists every problem found (not only the first), sorted by code then message;
 * `code` is `COMPILE_FAILED` and `id` the id of the task or workflow being compiled.
 */
export class CompileError extends FlyteError<'COMPILE_FAILED'> {
  /** The problems, sorted by code, then message. */
  readonly issues: readonly CompileIssue[];

  /**
   * @param entity what was compiled (`workflow my.wf`, `task t`, `package`): the error's id
   * @param issues every problem found
   */
  constructor(entity: string, issues: readonly CompileIssue[]) {
    const sorted = [...issues].sort((a, b) =>
      a.code === b.code ? compareText(a.message, b.message) : compareText(a.code, b.code),
    );
    const lines = sorted.map((i) => `  ${i.code} at ${i.nodeId || '<no id>'}: ${i.message}`);
    super(
      'COMPILE_FAILED',
      `${entity} does not compile (${sorted.length} issue${sorted.length === 1 ? '' : 's'}):\n${lines.join('\n')}`,
      {
        id: entity,
      },
    );
    this.issues = sorted;
  }

  /** Whether an issue with `code` (and, if given, on `nodeId`) was found. */
  has(code: CompilerErrorCode, nodeId?: string): boolean {
    return this.issues.some((i) => i.code === code && (nodeId === undefined || i.nodeId === nodeId));
  }
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The root of a tree of scopes: holds the issues, without duplicates. */
class IssueSet {
  private readonly seen = new Set<string>();
  readonly issues: CompileIssue[] = [];

  add(issue: CompileIssue): void {
    const key = `${issue.code}\u0000${issue.nodeId}\u0000${issue.message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.issues.push(issue);
  }
}

/**
 * A scope of issue collection. `hasErrors` is true when this scope or a scope created from it collected
 * an issue; the root keeps them all.
 */
export class IssueScope {
  private count = 0;
  private readonly parent: IssueScope | undefined;
  private readonly root: IssueSet;

  /** @param parent the enclosing scope; none for a root */
  constructor(parent?: IssueScope) {
    this.parent = parent;
    this.root = parent?.root ?? new IssueSet();
  }

  /** A scope nested in this one. */
  child(): IssueScope {
    return new IssueScope(this);
  }

  /** A throwaway scope: what it collects is not reported (for trying alternatives). */
  detached(): IssueScope {
    return new IssueScope();
  }

  /** Records an issue in this scope (and so in every enclosing one). */
  collect(code: CompilerErrorCode, nodeId: string, message: string): void {
    this.root.add({ code, nodeId, message });
    this.count++;
    this.parent?.countNested();
  }

  private countNested(): void {
    this.count++;
    this.parent?.countNested();
  }

  /** Whether this scope or a nested one collected an issue. */
  hasErrors(): boolean {
    return this.count > 0;
  }

  /** Every issue collected in the whole tree. */
  get issues(): readonly CompileIssue[] {
    return this.root.issues;
  }
}

/** Records that a node references a task that is not given. */
export function taskNotFound(scope: IssueScope, nodeId: string, id: idl.core.Identifier): void {
  scope.collect('TaskReferenceNotFound', nodeId, `Referenced Task [${identifierText(id)}] not found.`);
}

/** Records that a node references a workflow or launch plan that is not given. */
export function workflowNotFound(scope: IssueScope, nodeId: string, id: idl.core.Identifier | undefined): void {
  scope.collect('WorkflowReferenceNotFound', nodeId, `Referenced Workflow [${identifierText(id)}] not found.`);
}
