// Validating one workflow template (Flyte's workflowBuilder.ValidateWorkflow): inject start-node and end-node,
// validate every node, derive the edges from explicit dependencies and bindings, connect orphans to start
// and end, check the outputs and that every node is reachable and no cycle exists. The compiled workflow is
// written in place.
import { create } from '@bufbuild/protobuf';
import { idl } from '@flyte-ts/core';
import { compareBytes, END_NODE_ID, START_NODE_ID, WorkflowBuilder, type CompileContext } from './builder.js';
import type { IssueScope } from './errors.js';
import { identifierText, idKey } from './ids.js';
import { validateBindings } from './validators/bindings.js';
import { validateInterface } from './validators/interface.js';
import { addEdges, validateNode } from './validators/node.js';

/**
 * Validates and compiles `compiled.template` in place; resolves to the compiled workflow, or undefined when
 * issues were found (they are in `scope`).
 */
export function validateWorkflow(
  context: CompileContext,
  compiled: idl.core.CompiledWorkflow,
  scope: IssueScope,
): idl.core.CompiledWorkflow | undefined {
  const template = compiled.template;
  if (template === undefined) {
    scope.collect('ValueRequired', START_NODE_ID, 'Value required [template].');
    return undefined;
  }
  const key = idKey(template.id);
  if (context.compiled.get(key) === compiled) return compiled;
  if (context.inProgress.has(key)) {
    scope.collect(
      'CycleDetected',
      START_NODE_ID,
      `Workflow [${identifierText(template.id)}] calls itself as a subworkflow.`,
    );
    return undefined;
  }
  context.inProgress.add(key);
  try {
    const result = compile(context, compiled, template, scope);
    if (result !== undefined) context.compiled.set(key, result);
    return result;
  } finally {
    context.inProgress.delete(key);
  }
}

function compile(
  context: CompileContext,
  compiled: idl.core.CompiledWorkflow,
  template: idl.core.WorkflowTemplate,
  scope: IssueScope,
): idl.core.CompiledWorkflow | undefined {
  // Nodes of an earlier compilation (start and end) are re-created, not kept.
  const given = template.nodes.filter((n) => n.id !== START_NODE_ID && n.id !== END_NODE_ID);
  if (given.length === 0) {
    scope.collect(
      'NoNodesFound',
      identifierText(template.id),
      `Can't find any nodes in workflow [${identifierText(template.id)}].`,
    );
    return undefined;
  }
  const builder = new WorkflowBuilder(compiled, context);
  const { iface, ok } = validateInterface(START_NODE_ID, template.interface, scope.child());
  template.interface = iface;
  if (!ok) return undefined;

  template.nodes = [];
  compiled.connections = create(idl.core.ConnectionSetSchema);

  const start = builder.builderOf(create(idl.core.NodeSchema, { id: START_NODE_ID }));
  builder.addNode(start);
  start.iface = create(idl.core.TypedInterfaceSchema, { outputs: iface.inputs });
  const end = builder.builderOf(create(idl.core.NodeSchema, { id: END_NODE_ID }));
  builder.addNode(end);
  end.iface = create(idl.core.TypedInterfaceSchema, { inputs: iface.outputs });
  // The end node's inputs are the workflow's output bindings themselves (rewrites show in both).
  end.node.inputs = template.outputs;

  const topLevel = new Set<string>();
  for (const node of given) {
    topLevel.add(node.id);
    const nodeBuilder = builder.builderOf(node);
    if (builder.addNode(nodeBuilder)) {
      validateNode(builder, nodeBuilder, scope.child());
    } else {
      // Flyte drops a second node of the same id silently; losing a node silently is worse than an error.
      scope.collect('DuplicateId', node.id, `Trying to insert two nodes with the same id (${node.id}).`);
    }
  }

  for (const [id, nodeBuilder] of builder.nodes) {
    if (id !== START_NODE_ID) addEdges(builder, nodeBuilder, 'both', scope.child());
  }

  if (template.failureNode !== undefined) {
    if (builder.nodes.has(template.failureNode.id)) {
      scope.collect(
        'DuplicateId',
        template.failureNode.id,
        `The failure node and a node share the id ${template.failureNode.id}.`,
      );
    }
    const failure = builder.builderOf(template.failureNode);
    validateNode(builder, failure, scope.child());
    addEdges(builder, failure, 'upstream', scope.child());
  }

  for (const id of builder.nodes.keys()) {
    if (id === START_NODE_ID || id === END_NODE_ID || !topLevel.has(id)) continue;
    if (!builder.hasUpstream(id)) builder.addExecutionEdge(START_NODE_ID, id);
    if (!builder.hasDownstream(id)) builder.addExecutionEdge(id, END_NODE_ID);
  }

  const endInterface = validateInterface(END_NODE_ID, end.iface, scope.child());
  if (endInterface.ok) {
    validateBindings(builder, end, end.node.inputs, endInterface.iface.inputs, true, 'both', scope.child());
  }

  validateReachable(builder, scope.child());
  builder.writeConnections();
  return scope.hasErrors() ? undefined : compiled;
}

/**
 * Every node must be reachable from start-node along downstream edges, and no cycle may exist. Iterative
 * depth-first search (large workflows must not overflow the stack), neighbours in sorted order so the
 * reported cycle is deterministic.
 */
function validateReachable(builder: WorkflowBuilder, scope: IssueScope): void {
  const visited = new Set<string>([START_NODE_ID]);
  const onPath = new Set<string>([START_NODE_ID]);
  const finished = new Set<string>();
  const stack: { id: string; next: string[]; index: number }[] = [
    { id: START_NODE_ID, next: [...builder.downstreamOf(START_NODE_ID)].sort(compareBytes), index: 0 },
  ];
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    if (frame.index >= frame.next.length) {
      stack.pop();
      onPath.delete(frame.id);
      finished.add(frame.id);
      continue;
    }
    const next = frame.next[frame.index++]!;
    if (onPath.has(next)) {
      const cycle = [...stack.map((f) => f.id), next].join('>');
      scope.collect(
        'CycleDetected',
        START_NODE_ID,
        `A cycle has been detected while traversing the Workflow [${cycle}].`,
      );
      return;
    }
    if (finished.has(next)) continue;
    visited.add(next);
    onPath.add(next);
    stack.push({ id: next, next: [...builder.downstreamOf(next)].sort(compareBytes), index: 0 });
  }
  const unreachable = [...builder.nodes.keys()]
    .filter((id) => !visited.has(id) && id !== END_NODE_ID)
    .sort(compareBytes);
  if (unreachable.length > 0) {
    scope.collect(
      'UnreachableNodes',
      START_NODE_ID,
      `The Workflow contain unreachable nodes [${unreachable.join(',')}].`,
    );
  }
}
