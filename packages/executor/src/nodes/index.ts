// The handler of each node kind.
import type { idl } from '@flyte-ts/core';
import { arrayHandler } from './array/handler.js';
import { branchHandler } from './branch/handler.js';
import { endHandler } from './end/handler.js';
import { gateHandler } from './gate/handler.js';
import type { NodeHandler } from './handler.js';
import { startHandler } from './start/handler.js';
import { taskHandler } from './task/handler.js';
import { workflowHandler } from './workflow/handler.js';

/** The handler of a node. */
export function handlerFor(spec: idl.core.Node): NodeHandler {
  if (spec.id === 'start-node') return startHandler;
  if (spec.id === 'end-node') return endHandler;
  switch (spec.target.case) {
    case 'taskNode':
      return taskHandler;
    case 'branchNode':
      return branchHandler;
    case 'workflowNode':
      return workflowHandler;
    case 'arrayNode':
      return arrayHandler;
    case 'gateNode':
      return gateHandler;
    default:
      return endHandler;
  }
}
