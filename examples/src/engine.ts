// The one helper every example shares: an engine on the in-memory adapters, and a way to run a workflow on it
// to its end.
import { fromLiteralMap, idl, type TypeMap, type ValuesOf, type WorkflowLike } from '@flyte-ts/core';
import { createEngine, type Engine, type EngineConfig, type ExecutionInputs } from '@flyte-ts/executor';
import { MemoryBlobStore, MemoryCatalog, MemoryStore } from '@flyte-ts/store-memory';

/** Where the examples register their entities: Flyte's sandbox project, as flytekit's examples do. */
export const settings = { project: 'flytesnacks', domain: 'development', version: 'examples' } as const;

/** An engine on fresh in-memory adapters, started. Call `engine.stop()` when done. */
export async function startMemoryEngine(config: EngineConfig = {}): Promise<Engine> {
  const engine = createEngine({
    store: new MemoryStore(),
    blob: new MemoryBlobStore(),
    catalog: new MemoryCatalog(),
    // Retry at once: the examples' failures are deliberate, waiting between attempts would only slow them.
    config: { retryBackoff: { baseMs: 0, maxMs: 0 }, ...config },
  });
  await engine.start();
  return engine;
}

/** The id of an execution of the examples' project and domain. */
export function executionId(name: string): idl.core.WorkflowExecutionIdentifier {
  return {
    $typeName: 'flyteidl.core.WorkflowExecutionIdentifier',
    project: settings.project,
    domain: settings.domain,
    name,
    org: '',
  };
}

/** The id of a node execution of an execution. */
export function nodeExecutionId(
  execution: idl.core.WorkflowExecutionIdentifier,
  nodeId: string,
): idl.core.NodeExecutionIdentifier {
  return { $typeName: 'flyteidl.core.NodeExecutionIdentifier', nodeId, executionId: execution };
}

/** How a run ended: the execution, its phase name, and its outputs when it succeeded. */
export interface RunResult<O extends TypeMap> {
  readonly id: idl.core.WorkflowExecutionIdentifier;
  readonly execution: idl.admin.Execution;
  readonly phase: string;
  readonly outputs: ValuesOf<O> | undefined;
}

/**
 * Runs a workflow (registered already) on the engine under `name` and waits for its end.
 * A failed run resolves too: its phase says so.
 */
export async function runToEnd<I extends TypeMap, O extends TypeMap>(
  engine: Engine,
  workflow: WorkflowLike<I, O>,
  name: string,
  inputs: ExecutionInputs = {},
): Promise<RunResult<O>> {
  const id = executionId(name);
  await engine.createExecution({ workflow: workflow.id(settings), name, inputs });
  const execution = await engine.waitForExecution(id);
  const phase = idl.core.WorkflowExecution_Phase[execution.closure?.phase ?? 0] ?? 'UNKNOWN';
  const outputs =
    phase === 'SUCCEEDED' ? fromLiteralMap(workflow.outputs, await engine.getExecutionOutputs(id)) : undefined;
  return { id, execution, phase, outputs };
}
