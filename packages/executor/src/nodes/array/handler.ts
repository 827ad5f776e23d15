// Array nodes (map tasks): the sub-node runs once per element of the mapped (list) inputs, bound inputs passed
// whole, at most `parallelism` at once; each item is a node execution of its own with its own retries and
// cache. The node succeeds when at least min_successes (or min_success_ratio) items succeed; the outputs are
// lists in item order, failed items giving none.
import { create } from '@bufbuild/protobuf';
import { idl } from '@flyte-ts/core';
import { NodeFailure } from '../../runtime/failure.js';
import { isTerminalNodePhase, type NodeRun } from '../../runtime/node-run.js';
import type { NodeHandler } from '../handler.js';
import { taskTemplateOf } from '../task/handler.js';

const NP = idl.core.NodeExecution_Phase;

interface ArrayMemo {
  items: NodeRun[];
  next: number;
}

function none(): idl.core.Literal {
  return create(idl.core.LiteralSchema, {
    value: { case: 'scalar', value: { value: { case: 'noneType', value: {} } } },
  });
}

/** Handler of array nodes. */
export const arrayHandler: NodeHandler = {
  executable: false,

  async handle(run, rt) {
    if (run.spec.target.case !== 'arrayNode' || run.spec.target.value.node === undefined) {
      return {
        phase: 'failed',
        failure: new NodeFailure('BadArrayNode', `node ${run.spec.id} has no sub-node`, 'system'),
      };
    }
    const array = run.spec.target.value;
    const sub = array.node!;
    let memo = run.memo.array as ArrayMemo | undefined;
    if (memo === undefined) {
      const inputs = await rt.inputsOf(run);
      const bound = new Set(array.boundInputs);
      let size: number | undefined;
      for (const [name, literal] of Object.entries(inputs.literals)) {
        if (bound.has(name)) continue;
        if (literal.value.case !== 'collection') {
          return {
            phase: 'failed',
            failure: new NodeFailure('InvalidArrayInput', `input ${name} of map ${run.spec.id} is not a list`, 'user'),
          };
        }
        const length = literal.value.value.literals.length;
        if (size !== undefined && size !== length) {
          return {
            phase: 'failed',
            failure: new NodeFailure(
              'InvalidArrayInput',
              `the mapped inputs of ${run.spec.id} have different lengths (${size} and ${length})`,
              'user',
            ),
          };
        }
        size = length;
      }
      const items: NodeRun[] = [];
      for (let i = 0; i < (size ?? 0); i++) {
        const itemInputs = create(idl.core.LiteralMapSchema);
        for (const [name, literal] of Object.entries(inputs.literals)) {
          itemInputs.literals[name] =
            bound.has(name) || literal.value.case !== 'collection' ? literal : literal.value.value.literals[i]!;
        }
        items.push(rt.childRun(run, sub, String(i), itemInputs));
      }
      memo = { items, next: 0 };
      run.memo.array = memo;
      // After a restart, items that had started go on.
      for (const item of items) if (item.phase !== NP.UNDEFINED && !isTerminalNodePhase(item.phase)) rt.evaluate(item);
    }
    const n = memo.items.length;
    const criteria = array.successCriteria;
    const minSuccesses =
      criteria.case === 'minSuccesses'
        ? Math.min(n, criteria.value)
        : criteria.case === 'minSuccessRatio'
          ? Math.min(n, Math.ceil(n * criteria.value - 1e-9))
          : n;
    const parallelism =
      array.parallelismOption.case === 'parallelism' && array.parallelismOption.value > 0
        ? array.parallelismOption.value
        : n;

    let succeeded = 0;
    let failed = 0;
    let running = 0;
    for (const item of memo.items) {
      if (item.phase === NP.SUCCEEDED || item.phase === NP.RECOVERED) succeeded++;
      else if (isTerminalNodePhase(item.phase)) failed++;
      else if (item.phase !== NP.UNDEFINED || item.busy) running++;
    }
    if (failed > n - minSuccesses) {
      for (const item of memo.items) {
        if (item.phase !== NP.UNDEFINED && !isTerminalNodePhase(item.phase)) await rt.abortRun(item, 'the map failed');
      }
      const first = memo.items.find((i) => i.error !== undefined)?.error;
      return {
        phase: 'failed',
        failure: new NodeFailure(
          first?.code ?? 'ArrayNodeFailed',
          `${failed} of ${n} items of ${run.spec.id} failed, at most ${n - minSuccesses} may` +
            (first === undefined ? '' : `; first error: ${first.message}`),
          first?.kind === idl.core.ExecutionError_ErrorKind.SYSTEM ? 'system' : 'user',
        ),
      };
    }
    if (succeeded + failed === n) {
      const names = Object.keys(taskOutputs(sub, run));
      const outputs = create(idl.core.LiteralMapSchema);
      const lists: idl.core.Literal[][] = names.map(() => []);
      for (const item of memo.items) {
        const ok = item.phase === NP.SUCCEEDED || item.phase === NP.RECOVERED;
        const values = ok ? await rt.outputsOf(item) : undefined;
        names.forEach((name, j) => lists[j]!.push(values?.literals[name] ?? none()));
      }
      names.forEach((name, j) => {
        outputs.literals[name] = create(idl.core.LiteralSchema, {
          value: { case: 'collection', value: { literals: lists[j]! } },
        });
      });
      return { phase: 'succeeded', outputs };
    }
    while (running < parallelism && memo.next < n) {
      const item = memo.items[memo.next++]!;
      if (item.phase !== NP.UNDEFINED) continue;
      running++;
      rt.evaluate(item);
    }
    return { phase: 'running' };
  },

  async abort(run, rt, reason) {
    const memo = run.memo.array as ArrayMemo | undefined;
    for (const item of memo?.items ?? []) {
      if (item.phase !== NP.UNDEFINED && !isTerminalNodePhase(item.phase)) await rt.abortRun(item, reason);
    }
  },

  async restore(run, rt) {
    if (run.memo.array !== undefined || run.spec.target.case !== 'arrayNode') return;
    const sub = run.spec.target.value.node;
    if (sub === undefined) return;
    // One item per element of the mapped inputs; items that never started are rebuilt as such, and not aborted.
    const bound = new Set(run.spec.target.value.boundInputs);
    let size = 0;
    for (const [name, literal] of Object.entries((await rt.inputsOf(run)).literals)) {
      if (!bound.has(name) && literal.value.case === 'collection') {
        size = Math.max(size, literal.value.value.literals.length);
      }
    }
    for (let i = 0; i < size; i++) rt.childRun(run, sub, String(i));
  },
};

function taskOutputs(sub: idl.core.Node, run: NodeRun): { [name: string]: idl.core.Variable } {
  if (sub.target.case !== 'taskNode') return {};
  const fake = { spec: sub, dag: run.dag } as NodeRun;
  return taskTemplateOf(fake).interface?.outputs?.variables ?? {};
}
