// The start node: its outputs are the inputs of its workflow.
import type { NodeHandler } from '../handler.js';

/** Handler of start nodes. */
export const startHandler: NodeHandler = {
  executable: false,
  handle: async (run) => ({ phase: 'succeeded', outputs: run.dag.inputs }),
  abort: async () => undefined,
};
