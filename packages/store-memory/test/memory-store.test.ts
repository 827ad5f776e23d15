// MemoryStore beyond the contract: records are shared (no copies), pages hold steady while rows are added,
// tokens belong to the query that issued them, and the list grammar's edges.
import { create } from '@bufbuild/protobuf';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import { describe, expect, it } from 'vitest';
import { executionId, idl, nodeExecutionId, parseFilters, type ExecutionRecord } from '@flyte-ts/core';
import { MemoryStore } from '@flyte-ts/store-memory';

async function code(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
}

function execution(name: string, createdAtMs: number, phase = idl.core.WorkflowExecution_Phase.RUNNING) {
  return create(idl.admin.ExecutionSchema, {
    id: executionId({ project: 'p', domain: 'd', name }),
    closure: { phase, createdAt: timestampFromMs(createdAtMs) },
  });
}

function node(exec: idl.core.WorkflowExecutionIdentifier, nodeId: string) {
  return create(idl.admin.NodeExecutionSchema, { id: nodeExecutionId(exec, nodeId) });
}

describe('MemoryStore', () => {
  it('returns the very records it was given: no copies, so treat them as immutable', async () => {
    const store = new MemoryStore();
    const state = new Uint8Array([1, 2, 3]);
    const exec = execution('e', 0);
    const created = await store.createExecution({ execution: exec, state });
    const read = await store.getExecution(exec.id!);
    expect(read).toBe(created);
    expect(read?.execution).toBe(exec);
    expect(read?.state).toBe(state);
    const n0 = node(exec.id!, 'n0');
    await store.commit({ nodeExecutions: [{ record: { nodeExecution: n0, parentNodeId: '' }, expectedRevision: 0 }] });
    expect((await store.getNodeExecution(n0.id!))?.nodeExecution).toBe(n0);
  });

  it('never mutates a launch plan it was given when its state changes', async () => {
    const store = new MemoryStore();
    const id = create(idl.core.IdentifierSchema, {
      resourceType: idl.core.ResourceType.LAUNCH_PLAN,
      project: 'p',
      domain: 'd',
      name: 'lp',
      version: 'v1',
    });
    const given = create(idl.admin.LaunchPlanSchema, { id, closure: {} });
    await store.createLaunchPlan({ entity: given, digest: 'x' });
    const [changed] = await store.setLaunchPlanState(id, idl.admin.LaunchPlanState.ACTIVE);
    expect(changed?.closure?.state).toBe(idl.admin.LaunchPlanState.ACTIVE);
    expect(given.closure?.state).toBe(idl.admin.LaunchPlanState.INACTIVE);
    expect(await store.getLaunchPlan(id)).toBe(changed);
  });

  it('keeps paging where it was when newer rows arrive between pages', async () => {
    const store = new MemoryStore();
    for (let i = 0; i < 5; i++) await store.createExecution({ execution: execution(`e${i}`, 1000 * i) });
    const first = await store.listExecutions({ limit: 2 });
    expect(first.items.map((r) => r.execution.id?.name)).toEqual(['e4', 'e3']);
    await store.createExecution({ execution: execution('newest', 10_000) });
    await store.createExecution({ execution: execution('middle', 2500) });
    const rest: ExecutionRecord[] = [];
    let token = first.nextToken;
    while (token !== undefined) {
      const page = await store.listExecutions({ limit: 2, token });
      rest.push(...page.items);
      token = page.nextToken;
    }
    expect(rest.map((r) => r.execution.id?.name)).toEqual(['middle', 'e2', 'e1', 'e0']);
  });

  it('refuses a token used with other filters or another sort order', async () => {
    const store = new MemoryStore();
    for (let i = 0; i < 3; i++) await store.createExecution({ execution: execution(`e${i}`, 1000 * i) });
    const { nextToken } = await store.listExecutions({ limit: 1 });
    expect(nextToken).toBeDefined();
    expect(await code(store.listExecutions({ limit: 1, token: nextToken! }))).toBeUndefined();
    expect(
      await code(store.listExecutions({ limit: 1, token: nextToken!, sortBy: { key: 'name', direction: 'asc' } })),
    ).toBe('INVALID_ARGUMENT');
    expect(
      await code(store.listExecutions({ limit: 1, token: nextToken!, filters: parseFilters('eq(phase,RUNNING)') })),
    ).toBe('INVALID_ARGUMENT');
    expect(await code(store.listTasks({ token: nextToken! }))).toBe('INVALID_ARGUMENT');
  });

  it.each([
    ['contains on an enum field', { filters: parseFilters('contains(phase,RUN)') }],
    ['an ordering on an enum field', { filters: parseFilters('gt(phase,RUNNING)') }],
    ['a sort by an enum field', { sortBy: { key: 'phase', direction: 'asc' as const } }],
    ['a bad sort direction', { sortBy: { key: 'name', direction: 'up' as 'asc' } }],
    ['a zero limit', { limit: 0 }],
    ['a fractional limit', { limit: 1.5 }],
    ['a filter built by hand without value', { filters: [{ fn: 'eq' as const, field: 'name', values: [] }] }],
  ])('rejects %s with INVALID_ARGUMENT', async (_case, query) => {
    expect(await code(new MemoryStore().listExecutions(query))).toBe('INVALID_ARGUMENT');
  });

  it('caps page size at 1000', async () => {
    const store = new MemoryStore();
    const exec = execution('big', 0);
    await store.createExecution({ execution: exec });
    await store.commit({
      nodeExecutions: Array.from({ length: 1500 }, (_, i) => ({
        record: { nodeExecution: node(exec.id!, `n${i}`), parentNodeId: '' },
        expectedRevision: 0,
      })),
    });
    const page = await store.listNodeExecutions(exec.id!, { limit: 5000 });
    expect(page.items).toHaveLength(1000);
    const rest = await store.listNodeExecutions(exec.id!, { limit: 5000, token: page.nextToken! });
    expect(rest.items).toHaveLength(500);
    expect(rest.items[0]?.nodeExecution.id?.nodeId).toBe('n1000');
    expect(rest.nextToken).toBeUndefined();
  });

  it('applies a row written twice in one transition in order', async () => {
    const store = new MemoryStore();
    const exec = execution('twice', 0);
    await store.createExecution({ execution: exec });
    const result = await store.commit({
      nodeExecutions: [
        { record: { nodeExecution: node(exec.id!, 'n0'), parentNodeId: '' }, expectedRevision: 0 },
        { record: { nodeExecution: node(exec.id!, 'n0'), parentNodeId: '' }, expectedRevision: 1 },
      ],
    });
    expect(result.nodeExecutions.map((r) => r.revision)).toEqual([1, 2]);
    expect((await store.getNodeExecution(nodeExecutionId(exec.id!, 'n0')))?.revision).toBe(2);
  });

  it('matches fractional timestamps and RFC 3339 offsets in time filters', async () => {
    const store = new MemoryStore();
    await store.createExecution({ execution: execution('a', Date.UTC(2024, 0, 1, 12, 0, 0, 500)) });
    const names = async (text: string) =>
      (await store.listExecutions({ filters: parseFilters(text) })).items.map((r) => r.execution.id?.name);
    expect(await names('gt(created_at,2024-01-01T12:00:00.499999Z)')).toEqual(['a']);
    expect(await names('gt(created_at,2024-01-01T12:00:00.5Z)')).toEqual([]);
    expect(await names('eq(created_at,2024-01-01T13:00:00.5+01:00)')).toEqual(['a']);
    expect(await code(store.listExecutions({ filters: parseFilters('gt(created_at,2024-01-01)') }))).toBe(
      'INVALID_ARGUMENT',
    );
  });

  it('refuses malformed lease requests with INVALID_ARGUMENT', async () => {
    const store = new MemoryStore();
    const now = new Date(0);
    expect(await code(store.acquireLeases('', { limit: 1, ttlMs: 1, now }))).toBe('INVALID_ARGUMENT');
    expect(await code(store.acquireLeases('a', { limit: -1, ttlMs: 1, now }))).toBe('INVALID_ARGUMENT');
    expect(await code(store.acquireLeases('a', { limit: 1, ttlMs: 0, now }))).toBe('INVALID_ARGUMENT');
    expect(await code(store.acquireLeases('a', { limit: 1, ttlMs: 1, now: new Date(Number.NaN) }))).toBe(
      'INVALID_ARGUMENT',
    );
  });

  it('refuses entities without a complete id with INVALID_ARGUMENT', async () => {
    const store = new MemoryStore();
    expect(await code(store.createTask({ entity: create(idl.admin.TaskSchema), digest: 'd' }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(await code(store.createExecution({ execution: create(idl.admin.ExecutionSchema) }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(await code(store.putProject(create(idl.admin.ProjectSchema)))).toBe('INVALID_ARGUMENT');
  });
});
