// Workflow nodes: a subworkflow runs inline under the node (its nodes are node executions of this execution);
// a launch plan runs as a child execution whose name is derived from (execution, node, attempt), so launching
// again after a restart finds it instead of starting a second one.
import { create } from '@bufbuild/protobuf';
import { idl } from '@flyte-ts/core';
import { idKey } from '../../runtime/dag.js';
import { NodeFailure } from '../../runtime/failure.js';
import { childExecutionName } from '../../runtime/names.js';
import { isTerminalWorkflowPhase } from '../../runtime/phases.js';
import { dagTransition } from '../dynamic/handler.js';
import type { NodeHandler } from '../handler.js';

const WP = idl.core.WorkflowExecution_Phase;

interface ChildState {
  [key: string]: string;
  /** Name of the child execution. */
  child: string;
}

/** Handler of workflow nodes. */
export const workflowHandler: NodeHandler = {
  executable: false,

  async handle(run, rt) {
    if (run.spec.target.case !== 'workflowNode') {
      return { phase: 'failed', failure: new NodeFailure('BadWorkflowNode', `node ${run.spec.id}`, 'system') };
    }
    const reference = run.spec.target.value.reference;
    if (reference.case === 'subWorkflowRef') {
      let dag = rt.existingChildDag(run);
      if (dag === undefined) {
        const sub = run.dag.index.subworkflows.get(idKey(reference.value));
        if (sub === undefined) {
          return {
            phase: 'failed',
            failure: new NodeFailure(
              'SubworkflowNotFound',
              `subworkflow ${reference.value.name} is not in the closure`,
              'system',
            ),
          };
        }
        dag = rt.childDag(run, sub, run.dag.index, await rt.inputsOf(run));
      }
      return dagTransition(dag);
    }
    if (reference.case !== 'launchplanRef') {
      return {
        phase: 'failed',
        failure: new NodeFailure('BadWorkflowNode', `node ${run.spec.id} has no reference`, 'system'),
      };
    }
    let child = run.childExecution;
    if (child === undefined) {
      child = await rt.launchChild(run, reference.value, await rt.inputsOf(run));
      run.childExecution = child;
      if (run.kindState<ChildState>()?.child !== child.name) {
        run.setKindState({ child: child.name });
        rt.stage(run);
      }
    }
    const record = await rt.services.store.getExecution(child);
    const closure = record?.execution.closure;
    if (closure === undefined || !isTerminalWorkflowPhase(closure.phase)) {
      return { phase: 'running', recheckAfterMs: rt.services.config.pollInterval.maxMs };
    }
    if (closure.phase === WP.SUCCEEDED) {
      const result = closure.outputResult;
      const outputs =
        result.case === 'outputs' && result.value.data.case === 'uri'
          ? await rt.services.data.readLiteralMap(result.value.data.value)
          : result.case === 'outputs' && result.value.data.case === 'values'
            ? result.value.data.value
            : create(idl.core.LiteralMapSchema);
      return { phase: 'succeeded', outputs };
    }
    const error = closure.outputResult.case === 'error' ? closure.outputResult.value : undefined;
    return {
      phase: 'failed',
      failure: new NodeFailure(
        error?.code ?? 'ChildExecutionFailed',
        `child execution ${child.name} ended ${WP[closure.phase]}${error === undefined ? '' : `: ${error.message}`}`,
        error?.kind === idl.core.ExecutionError_ErrorKind.SYSTEM ? 'system' : 'user',
      ),
    };
  },

  async abort(run, rt, reason) {
    const child = run.childExecution;
    if (child !== undefined) await rt.services.children.terminate(child, `parent aborted: ${reason}`);
  },

  async restore(run, rt) {
    if (run.spec.target.case !== 'workflowNode') return;
    const reference = run.spec.target.value.reference;
    if (reference.case === 'subWorkflowRef') {
      const sub = run.dag.index.subworkflows.get(idKey(reference.value));
      // Nothing runs any more: the subworkflow's inputs are never read.
      if (sub !== undefined && rt.existingChildDag(run) === undefined) {
        rt.childDag(run, sub, run.dag.index, create(idl.core.LiteralMapSchema));
      }
      return;
    }
    if (reference.case !== 'launchplanRef' || run.childExecution !== undefined) return;
    // The child's name is derived from the node, so it is found even if the node's record never named it.
    const { project, domain, org } = rt.executionId;
    const child = create(idl.core.WorkflowExecutionIdentifierSchema, {
      project,
      domain,
      org,
      name: childExecutionName(rt.executionId, run.key, run.state.a),
    });
    if ((await rt.services.store.getExecution(child)) !== undefined) run.childExecution = child;
  },
};
