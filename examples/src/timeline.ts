// A readable timeline of an execution's nodes: what ran, in which order, how long, whether the cache
// answered, and how many attempts it took. Read from the engine's records, as a UI would.
import { idl, msFromDuration, msFromTimestamp } from '@flyte-ts/core';
import type { Engine } from '@flyte-ts/executor';
import { nodeExecutionId } from './engine.js';

/** One node execution, as the timeline shows it. */
export interface TimelineRow {
  /** Node id in the workflow (`n0`, `start-node`, `fn0` for the on-failure node). */
  readonly nodeId: string;
  /** Name of the node (its task's short name by default). */
  readonly name: string;
  /** Phase name (`SUCCEEDED`, `FAILED`, ...). */
  readonly phase: string;
  /** When it started, in ms after the first node started (undefined when it has not). */
  readonly startMs: number | undefined;
  /** How long it ran, in ms. */
  readonly durationMs: number;
  /** Cache status of a task node (`CACHE_HIT`, `CACHE_POPULATED`, ...), undefined for other nodes. */
  readonly cacheStatus: string | undefined;
  /** Task executions (attempts) of a task node; 0 when the cache answered. */
  readonly attempts: number;
}

/** The top-level nodes of an execution (or the children of `parentNodeId`), in the order they started. */
export async function nodeTimeline(
  engine: Engine,
  id: idl.core.WorkflowExecutionIdentifier,
  options: { readonly parentNodeId?: string } = {},
): Promise<TimelineRow[]> {
  const parentNodeId = options.parentNodeId ?? '';
  const parent = parentNodeId === '' ? undefined : await engine.getNodeExecution(nodeExecutionId(id, parentNodeId));
  // The nodes of a dynamic node come from the workflow its task built, not from the registered one.
  const names = parent?.metadata?.isDynamic ? new Map<string, string>() : await nodeNames(engine, id);
  const nodes = await engine.listNodeExecutions(id, { parentNodeId, limit: 1000 });
  const rows: (TimelineRow & { started: number | undefined })[] = [];
  for (const node of nodes.items) {
    const closure = node.closure;
    const nodeId = node.id?.nodeId ?? '?';
    const meta = closure?.targetMetadata;
    const isTask = meta?.case === 'taskNodeMetadata';
    const attempts =
      node.id === undefined ? 0 : (await engine.listTaskExecutions(node.id, { limit: 1000 })).items.length;
    rows.push({
      nodeId,
      name: names.get(node.metadata?.specNodeId ?? nodeId) ?? node.metadata?.specNodeId ?? nodeId,
      phase: idl.core.NodeExecution_Phase[closure?.phase ?? 0] ?? '?',
      started: closure?.startedAt === undefined ? undefined : msFromTimestamp(closure.startedAt),
      startMs: undefined,
      durationMs: closure?.duration === undefined ? 0 : msFromDuration(closure.duration),
      cacheStatus: isTask ? idl.core.CatalogCacheStatus[meta.value.cacheStatus] : undefined,
      attempts,
    });
  }
  // Not started last; ties (a node and the ones it released at once) in spec order, start before end.
  const at = (started: number | undefined) => started ?? Number.MAX_SAFE_INTEGER;
  rows.sort((a, b) => at(a.started) - at(b.started) || order(a.nodeId) - order(b.nodeId));
  const first = rows[0]?.started ?? 0;
  return rows.map(({ started, ...row }) => ({ ...row, startMs: started === undefined ? undefined : started - first }));
}

/** The timeline as aligned text lines, a header first. */
export function formatTimeline(rows: readonly TimelineRow[]): string[] {
  const table = [
    ['node', 'name', 'phase', 'start ms', 'duration ms', 'cache', 'attempts'],
    ...rows.map((r) => [
      r.nodeId,
      r.name,
      r.phase,
      r.startMs === undefined ? '-' : String(r.startMs),
      String(r.durationMs),
      r.cacheStatus === undefined || r.cacheStatus === 'CACHE_DISABLED' ? '-' : r.cacheStatus,
      r.cacheStatus === undefined && r.attempts === 0 ? '-' : String(r.attempts),
    ]),
  ];
  const widths = table[0]!.map((_, column) => Math.max(...table.map((row) => row[column]!.length)));
  // Numbers right-aligned, text left-aligned.
  const numeric = new Set([3, 4, 6]);
  return table.map((row) =>
    row
      .map((cell, column) => (numeric.has(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd(),
  );
}

/**
 * Node names from the compiled workflow the execution runs (node metadata names, as Flyte's console shows),
 * branch cases included.
 */
async function nodeNames(engine: Engine, id: idl.core.WorkflowExecutionIdentifier): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  const visit = (node: idl.core.Node | undefined) => {
    if (node === undefined) return;
    if (node.metadata?.name) names.set(node.id, node.metadata.name);
    if (node.target.case === 'branchNode') {
      const block = node.target.value.ifElse;
      visit(block?.case?.thenNode);
      for (const other of block?.other ?? []) visit(other.thenNode);
      if (block?.default.case === 'elseNode') visit(block.default.value);
    }
  };
  const execution = await engine.getExecution(id);
  const workflowId = execution?.closure?.workflowId;
  const template = workflowId === undefined ? undefined : (await engine.store.getWorkflow(workflowId))?.closure;
  const primary = template?.compiledWorkflow?.primary?.template;
  for (const node of [...(primary?.nodes ?? []), primary?.failureNode]) visit(node);
  return names;
}

function order(nodeId: string): number {
  return nodeId === 'start-node' ? 0 : nodeId === 'end-node' ? 2 : 1;
}
