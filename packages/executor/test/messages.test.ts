// The engine builds its records and events as literal messages, not through `create`: each must be exactly the
// message `create` and the binary format give (every field present with its default, no stray keys), or readers
// that rely on defaults (an event's eventVersion, a closure's deckUri) would see undefined.
import { fromBinary, toBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import { conditional, idl, map, t, task, workflow, type ExecutionEvent } from '@flyte-ts/core';
import { describe, expect, it } from 'vitest';
import { execId, settings, startEngine } from './support.js';

let failures = 0;
const flaky = task(
  { name: 'messages.flaky', inputs: { x: t.int() }, outputs: { y: t.int() }, retries: 2, cache: { version: '1' } },
  ({ x }) => {
    if (failures++ === 0) throw new Error('first attempt fails');
    return { y: x + 1 };
  },
);
const square = task({ name: 'messages.square', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({
  y: x * x,
}));
const big = task({ name: 'messages.big', inputs: { n: t.int() }, outputs: { s: t.string() } }, ({ n }) => ({
  s: 'x'.repeat(n),
}));
const sub = workflow({ name: 'messages.sub', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({
  y: square({ x }).y,
}));
const wf = workflow(
  { name: 'messages.all', inputs: { x: t.int() }, outputs: { y: t.int(), s: t.string(), ys: t.list(t.int()) } },
  ({ x }) => {
    const a = flaky({ x });
    const b = conditional('sign')
      .if(a.y.gt(0))
      .then(() => sub({ x: a.y }))
      .else(() => sub({ x: 0 }));
    const ys = map(square)({ x: [1, 2, 3] });
    return { y: b.y, s: big({ n: 100_000 }).s, ys: ys.y };
  },
);

/** `message` as the binary format reads it back: every field with its value or default, nothing else. */
function canonical<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): MessageShape<Desc> {
  return fromBinary(schema, toBinary(schema, message));
}

/**
 * The message without its keys holding undefined: an unset optional message field may be absent or undefined
 * (protobuf-es treats both as unset), every other field must be there.
 */
function defined(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(defined);
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return value;
  const out: { [key: string]: unknown } = {};
  for (const [key, item] of Object.entries(value)) if (item !== undefined) out[key] = defined(item);
  return out;
}

function eventSchema(event: ExecutionEvent): DescMessage {
  return event.kind === 'workflow'
    ? idl.event.WorkflowExecutionEventSchema
    : event.kind === 'node'
      ? idl.event.NodeExecutionEventSchema
      : idl.event.TaskExecutionEventSchema;
}

describe('records and events', () => {
  it('are complete messages, equal to what the binary format reads back', async () => {
    const { engine, store } = await startEngine();
    await engine.register([wf], settings);
    const emitted: unknown[] = [];
    engine.on('node', (e) => emitted.push(e));
    engine.on('task', (e) => emitted.push(e));
    await engine.createExecution({ workflow: wf.id(settings), name: 'm1', inputs: { x: 2 } });
    const done = await engine.waitForExecution(execId('m1'));
    expect(idl.core.WorkflowExecution_Phase[done.closure!.phase]).toBe('SUCCEEDED');

    const events = (await store.listEvents(execId('m1'), { limit: 10_000 })).items;
    // Task nodes, retries, a branch, a subworkflow, an array node, offloaded outputs and a cache miss all appear.
    expect(events.length).toBeGreaterThan(30);
    for (const event of events) {
      const schema = eventSchema(event);
      expect(event.event.$typeName).toBe(schema.typeName);
      expect(defined(event.event), `${event.kind} event`).toStrictEqual(defined(canonical(schema, event.event)));
    }
    expect(emitted.length).toBe(events.filter((e) => e.kind !== 'workflow').length);

    const nodes = (await store.listNodeExecutions(execId('m1'), { limit: 10_000 })).items;
    const kinds = new Set(nodes.map((n) => n.nodeExecution.closure?.targetMetadata.case));
    expect(kinds).toContain('taskNodeMetadata');
    let tasks = 0;
    for (const { nodeExecution } of nodes) {
      expect(defined(nodeExecution), nodeExecution.id?.nodeId).toStrictEqual(
        defined(canonical(idl.admin.NodeExecutionSchema, nodeExecution)),
      );
      for (const { taskExecution } of (await store.listTaskExecutions(nodeExecution.id!, { limit: 100 })).items) {
        tasks++;
        expect(defined(taskExecution)).toStrictEqual(defined(canonical(idl.admin.TaskExecutionSchema, taskExecution)));
      }
    }
    // Two attempts of the flaky task, one of each other task (3 map items run as one array node's items).
    expect(tasks).toBeGreaterThanOrEqual(5);
    const offloaded = nodes.find((n) => n.nodeExecution.closure?.outputResult.case === 'outputUri');
    expect(offloaded, 'the large string is offloaded').toBeDefined();
    await engine.stop();
  });
});
