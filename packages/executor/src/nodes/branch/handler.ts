// Branch nodes: evaluate the if/elif conditions on the node's inputs, run the chosen case's node, and take its
// outputs; with no case true, the else node runs or the branch fails with its error.
import { idl } from '@flyte-ts/core';
import { NodeFailure } from '../../runtime/failure.js';
import { isTerminalNodePhase, type NodeRun } from '../../runtime/node-run.js';
import type { NodeHandler } from '../handler.js';
import { evaluateBoolean } from './conditions.js';

const NP = idl.core.NodeExecution_Phase;

interface BranchState {
  [key: string]: string;
  /** Id of the chosen case node. */
  chosen: string;
}

/** The case node of a branch with that id. */
function caseNode(branch: idl.core.IfElseBlock, id: string): idl.core.Node | undefined {
  for (const c of [branch.case, ...branch.other]) if (c?.thenNode?.id === id) return c.thenNode;
  return branch.default.case === 'elseNode' && branch.default.value.id === id ? branch.default.value : undefined;
}

/** Handler of branch nodes. */
export const branchHandler: NodeHandler = {
  executable: false,

  async handle(run, rt) {
    if (run.spec.target.case !== 'branchNode' || run.spec.target.value.ifElse === undefined) {
      return { phase: 'failed', failure: new NodeFailure('BadBranch', `node ${run.spec.id} has no if-else`, 'system') };
    }
    const block = run.spec.target.value.ifElse;
    let chosen = run.kindState<BranchState>()?.chosen;
    if (chosen === undefined) {
      const inputs = await rt.inputsOf(run);
      let node: idl.core.Node | undefined;
      try {
        for (const c of [block.case, ...block.other]) {
          if (c?.condition !== undefined && evaluateBoolean(c.condition, inputs)) {
            node = c.thenNode;
            break;
          }
        }
      } catch (error) {
        return { phase: 'failed', failure: error as NodeFailure };
      }
      if (node === undefined) {
        if (block.default.case === 'elseNode') node = block.default.value;
        else {
          const error = block.default.case === 'error' ? block.default.value : undefined;
          return {
            phase: 'failed',
            failure: new NodeFailure(
              'UserProvidedError',
              error?.message ?? `no condition of branch ${run.spec.id} was true and it has no else`,
              'user',
            ),
          };
        }
      }
      chosen = node.id;
      run.setKindState({ chosen });
      rt.stage(run);
    }
    const spec = caseNode(block, chosen);
    if (spec === undefined) {
      return {
        phase: 'failed',
        failure: new NodeFailure('BadBranch', `branch ${run.spec.id} has no case ${chosen}`, 'system'),
      };
    }
    const child: NodeRun = rt.childRun(run, spec);
    if (child.phase === NP.SUCCEEDED || child.phase === NP.RECOVERED) {
      return { phase: 'succeeded', outputs: await rt.outputsOf(child) };
    }
    if (child.phase === NP.SKIPPED) return { phase: 'succeeded', outputs: await rt.outputsOf(child) };
    if (isTerminalNodePhase(child.phase)) {
      return {
        phase: 'failed',
        failure: new NodeFailure(
          child.error?.code ?? 'BranchCaseFailed',
          child.error?.message ?? `the chosen case ${chosen} failed`,
          child.error?.kind === idl.core.ExecutionError_ErrorKind.SYSTEM ? 'system' : 'user',
        ),
      };
    }
    rt.evaluate(child);
    return { phase: 'running' };
  },

  abort: async () => undefined,

  async restore(run, rt) {
    const chosen = run.kindState<BranchState>()?.chosen;
    if (run.spec.target.case !== 'branchNode' || run.spec.target.value.ifElse === undefined || chosen === undefined) {
      return;
    }
    const spec = caseNode(run.spec.target.value.ifElse, chosen);
    if (spec !== undefined) rt.childRun(run, spec);
  },
};
