// The end node: its inputs, bound to the workflow's outputs, are the workflow's outputs.
import type { NodeHandler } from '../handler.js';

/** Handler of end nodes. */
export const endHandler: NodeHandler = {
  executable: false,
  handle: async (run, rt) => ({ phase: 'succeeded', outputs: await rt.inputsOf(run) }),
  abort: async () => undefined,
};
