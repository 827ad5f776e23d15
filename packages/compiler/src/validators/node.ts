// Node validation (Flyte's validators/node.go): the node's interface, its output aliases, its explicit
// upstream ids (sorted), and what it runs: branch cases, subworkflows (compiled recursively), tasks.
import { create } from '@bufbuild/protobuf';
import { idl } from '@flyte-ts/core';
import { compareBytes, END_NODE_ID, START_NODE_ID, type NodeBuilder, type WorkflowBuilder } from '../builder.js';
import type { IssueScope } from '../errors.js';
import { idKey } from '../ids.js';
import { taskNotFound, workflowNotFound } from '../errors.js';
import { validateWorkflow } from '../validate-workflow.js';
import { validateBindings } from './bindings.js';
import { validateBranchNode } from './branch.js';
import { underlyingInterface } from './interface.js';
import { effectiveOutputs } from './outputs.js';

/** Validates a node; resolves true when it (and what it contains) has no issue. */
export function validateNode(builder: WorkflowBuilder, node: NodeBuilder, scope: IssueScope): boolean {
  const id = node.node.id;
  if (id === '') scope.collect('ValueRequired', '<node>', 'Value required [Id].');
  if (id === START_NODE_ID || id === END_NODE_ID) return true;
  if (underlyingInterface(builder, node, scope.child()).ok) effectiveOutputs(node, scope.child());
  node.node.upstreamNodeIds.sort(compareBytes);
  const target = node.node.target;
  switch (target.case) {
    case 'branchNode': {
      const { subNodes, ok } = validateBranchNode(builder, node, scope.child());
      if (ok) for (const sub of subNodes) addEdges(builder, sub, 'upstream', scope.child());
      break;
    }
    case 'workflowNode': {
      const reference = target.value.reference;
      if (reference.case !== 'subWorkflowRef') break;
      const sub = builder.subWorkflow(reference.value);
      if (sub === undefined) {
        workflowNotFound(scope, id, reference.value);
      } else if (node.subWorkflow === undefined) {
        // Compiled once per compilation, whatever the number of nodes (or nesting levels) calling it.
        node.subWorkflow =
          builder.context.compiled.get(idKey(reference.value)) ?? validateWorkflow(builder.context, sub, scope.child());
      }
      break;
    }
    case 'taskNode': {
      const reference = target.value.reference;
      if (reference.case !== 'referenceId') break;
      const task = builder.task(reference.value);
      if (task === undefined) {
        taskNotFound(scope, id, reference.value);
      } else {
        node.task = task;
      }
      break;
    }
    default:
      break;
  }
  return !scope.hasErrors();
}

/**
 * Connects a node: edges from its explicit upstream ids (unless only upstream edges are wanted) and from the
 * nodes its bindings depend on, validating the bindings against its interface's inputs.
 */
export function addEdges(
  builder: WorkflowBuilder,
  node: NodeBuilder,
  direction: 'upstream' | 'both',
  scope: IssueScope,
): void {
  if (node.iface === undefined) return;
  if (direction === 'both') {
    for (const upstream of node.node.upstreamNodeIds) builder.addExecutionEdge(upstream, node.node.id);
  }
  validateBindings(
    builder,
    node,
    node.node.inputs,
    node.iface.inputs ?? create(idl.core.VariableMapSchema),
    true,
    direction,
    scope.child(),
  );
}
