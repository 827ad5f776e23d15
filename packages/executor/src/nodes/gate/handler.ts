// Gate nodes: sleep for a duration, wait for a typed signal (its value becomes the node's output), or wait for
// an approval (the approved input passes through; a rejection fails the node). Signals are set through the
// engine and kept with the execution's data, so a restart does not lose them.
import { create } from '@bufbuild/protobuf';
import { idl, msFromDuration } from '@flyte-ts/core';
import { NodeFailure } from '../../runtime/failure.js';
import type { NodeRun } from '../../runtime/node-run.js';
import type { NodeHandler, Runtime, Transition } from '../handler.js';

/** Handler of gate nodes. */
export const gateHandler: NodeHandler = {
  executable: false,

  async handle(run, rt) {
    if (run.spec.target.case !== 'gateNode') {
      return { phase: 'failed', failure: new NodeFailure('BadGate', `node ${run.spec.id}`, 'system') };
    }
    const condition = run.spec.target.value.condition;
    switch (condition.case) {
      case 'sleep': {
        const ms = condition.value.duration === undefined ? 0 : msFromDuration(condition.value.duration);
        const left = (run.state.t0 ?? rt.now().getTime()) + ms - rt.now().getTime();
        if (left > 0) return { phase: 'running', recheckAfterMs: left };
        return { phase: 'succeeded', outputs: create(idl.core.LiteralMapSchema) };
      }
      case 'signal': {
        const value = await rt.signal(condition.value.signalId);
        if (value === undefined) return waitForSignal(run, rt);
        const outputs = create(idl.core.LiteralMapSchema);
        outputs.literals[condition.value.outputVariableName || 'o0'] = value;
        return { phase: 'succeeded', outputs };
      }
      case 'approve': {
        const value = await rt.signal(condition.value.signalId);
        if (value === undefined) return waitForSignal(run, rt);
        const approved =
          value.value.case === 'scalar' &&
          value.value.value.value.case === 'primitive' &&
          value.value.value.value.value.value.case === 'boolean' &&
          value.value.value.value.value.value.value;
        if (!approved) {
          return {
            phase: 'failed',
            failure: new NodeFailure(
              'ApprovalRejected',
              `signal ${condition.value.signalId} rejected the value`,
              'user',
            ),
          };
        }
        return { phase: 'succeeded', outputs: await rt.inputsOf(run) };
      }
      default:
        return {
          phase: 'failed',
          failure: new NodeFailure('BadGate', `gate ${run.spec.id} has no condition`, 'system'),
        };
    }
  },

  abort: async () => undefined,
};

/**
 * A gate whose signal is not set yet waits to be evaluated again when it is set (the engine is told), or, when
 * signals reach this engine only by polling, looks again after the poll interval, doubling up to its cap.
 */
function waitForSignal(run: NodeRun, rt: Runtime): Transition {
  if (!rt.services.signalsPolled) return { phase: 'running' };
  const { baseMs, maxMs } = rt.services.config.pollInterval;
  const last = run.memo.signalPollMs as number | undefined;
  const next = last === undefined ? baseMs : Math.min(maxMs, last * 2);
  run.memo.signalPollMs = next;
  return { phase: 'running', recheckAfterMs: next };
}
