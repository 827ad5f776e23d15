// Literal offloading: small outputs stay inline in records and events, large ones are written as outputs.pb and
// referenced, too large ones fail the node with a clear error; all of it survives a restart.
import { toBinary } from '@bufbuild/protobuf';
import { fromLiteralMap, idl, t, task, toLiteralMap, workflow, type AnyFlyteType } from '@flyte-ts/core';
import { MemoryBlobStore, MemoryStore } from '@flyte-ts/store-memory';
import { describe, expect, it } from 'vitest';
import { upperBoundSize } from '../src/runtime/outputs.js';
import { execId, nodePhase, phaseOf, settings, startEngine } from './support.js';

/** A Flyte type for a sample value of the size-bound test. */
function typeOfSample(value: unknown): AnyFlyteType {
  if (typeof value === 'number') return (Number.isInteger(value) ? t.int() : t.float()) as AnyFlyteType;
  if (typeof value === 'string') return t.string() as AnyFlyteType;
  if (typeof value === 'boolean') return t.boolean() as AnyFlyteType;
  if (value instanceof Date) return t.datetime() as AnyFlyteType;
  if (Array.isArray(value))
    return t.list(value.length > 0 && Array.isArray(value[0]) ? t.list(t.float()) : t.int()) as AnyFlyteType;
  return t.map(t.string()) as AnyFlyteType;
}

const echo = task({ name: 'offload.echo', inputs: { s: t.string() }, outputs: { s: t.string() } }, ({ s }) => ({
  s: s + '!',
}));
const wf = workflow({ name: 'offload.wf', inputs: { s: t.string() }, outputs: { s: t.string() } }, ({ s }) => ({
  s: echo({ s: echo({ s }).s }).s,
}));

function nodeId(name: string, node: string): idl.core.NodeExecutionIdentifier {
  return { nodeId: node, executionId: execId(name) } as idl.core.NodeExecutionIdentifier;
}

async function blobUris(blob: MemoryBlobStore, name: string): Promise<string[]> {
  const page = await blob.list(`mem://flyte/metadata/${settings.project}/${settings.domain}/${name}/`, {
    limit: 1000,
  });
  return page.items.map((item) => item.uri);
}

describe('literal offloading', () => {
  it('keeps small outputs inline in node and task records, events and the execution closure: no outputs.pb', async () => {
    const { engine, blob } = await startEngine();
    await engine.register([wf], settings);
    await engine.createExecution({ workflow: wf.id(settings), name: 'small', inputs: { s: 'a' } });
    const execution = await engine.waitForExecution(execId('small'));
    expect(phaseOf(execution)).toBe('SUCCEEDED');
    expect(execution.closure?.outputResult.case).toBe('outputs');
    const blobOut = execution.closure?.outputResult.value as idl.admin.LiteralMapBlob;
    expect(blobOut.data.case).toBe('values');
    expect(fromLiteralMap(wf.outputs, await engine.getExecutionOutputs(execId('small')))).toEqual({ s: 'a!!' });

    const node = await engine.getNodeExecution(nodeId('small', 'n0'));
    expect(node?.closure?.outputResult.case).toBe('outputData');
    expect(fromLiteralMap(echo.outputs, await engine.getNodeExecutionOutputs(nodeId('small', 'n0')))).toEqual({
      s: 'a!',
    });
    const attempts = await engine.listTaskExecutions(nodeId('small', 'n1'));
    expect(attempts.items[0]?.closure?.outputResult.case).toBe('outputData');
    const events = await engine.listEvents(execId('small'), { limit: 1000 });
    const succeeded = events.items.filter(
      (e) =>
        e.kind === 'node' && e.event.phase === idl.core.NodeExecution_Phase.SUCCEEDED && e.event.id?.nodeId === 'n1',
    );
    expect(succeeded).toHaveLength(1);
    expect(succeeded[0]?.kind === 'node' && succeeded[0].event.outputResult.case).toBe('outputData');

    const uris = await blobUris(blob, 'small');
    expect(uris.filter((uri) => uri.endsWith('/outputs.pb'))).toEqual([]);
    expect(uris.some((uri) => uri.endsWith('/n0/0/inputs.pb'))).toBe(true);
    await engine.stop();
  });

  it('writes outputs above the inline limit to outputs.pb and references them by URI', async () => {
    const { engine, blob } = await startEngine({ config: { data: { inlineLimitBytes: 64 } } });
    await engine.register([wf], settings);
    const big = 'x'.repeat(200);
    await engine.createExecution({ workflow: wf.id(settings), name: 'large', inputs: { s: big } });
    const execution = await engine.waitForExecution(execId('large'));
    expect(phaseOf(execution)).toBe('SUCCEEDED');
    const blobOut = execution.closure?.outputResult.value as idl.admin.LiteralMapBlob;
    expect(blobOut.data.case).toBe('uri');
    expect(fromLiteralMap(wf.outputs, await engine.getExecutionOutputs(execId('large')))).toEqual({ s: `${big}!!` });

    const node = await engine.getNodeExecution(nodeId('large', 'n1'));
    expect(node?.closure?.outputResult).toMatchObject({ case: 'outputUri' });
    const uri = node?.closure?.outputResult.value as string;
    expect(uri).toBe(`mem://flyte/metadata/${settings.project}/${settings.domain}/large/n1/0/outputs.pb`);
    expect((await blob.head(uri))?.size).toBeGreaterThan(200);
    const attempts = await engine.listTaskExecutions(nodeId('large', 'n1'));
    expect(attempts.items[0]?.closure?.outputResult).toMatchObject({ case: 'outputUri', value: uri });
    expect(fromLiteralMap(echo.outputs, await engine.getNodeExecutionOutputs(nodeId('large', 'n1')))).toEqual({
      s: `${big}!!`,
    });
    await engine.stop();
  });

  it('fails a node whose outputs exceed the size limit with OutputsTooLarge, without retrying it', async () => {
    let runs = 0;
    const bloat = task(
      { name: 'offload.bloat', inputs: { n: t.int() }, outputs: { s: t.string() }, retries: 3 },
      ({ n }) => {
        runs++;
        return { s: 'y'.repeat(n) };
      },
    );
    const bwf = workflow({ name: 'offload.bloat_wf', inputs: { n: t.int() }, outputs: { s: t.string() } }, ({ n }) => ({
      s: bloat({ n }).s,
    }));
    const { engine, blob } = await startEngine({
      config: { data: { inlineLimitBytes: 100, maxLiteralMapBytes: 1000 } },
    });
    await engine.register([bwf], settings);
    await engine.createExecution({ workflow: bwf.id(settings), name: 'ok', inputs: { n: 500 } });
    expect(phaseOf(await engine.waitForExecution(execId('ok')))).toBe('SUCCEEDED');

    await engine.createExecution({ workflow: bwf.id(settings), name: 'huge', inputs: { n: 5000 } });
    const execution = await engine.waitForExecution(execId('huge'));
    expect(phaseOf(execution)).toBe('FAILED');
    const error = execution.closure?.outputResult.value as idl.core.ExecutionError;
    expect(error.code).toBe('OutputsTooLarge');
    expect(error.message).toContain('offload.bloat');
    expect(error.message).toContain('1000');
    expect(runs).toBe(2);
    const attempts = await engine.listTaskExecutions(nodeId('huge', 'n0'));
    expect(attempts.items).toHaveLength(1);
    expect(nodePhase(await engine.getNodeExecution(nodeId('huge', 'n0')))).toBe('FAILED');
    // Nothing half-written: the refused outputs never reached the blob store.
    expect((await blobUris(blob, 'huge')).filter((uri) => uri.endsWith('/outputs.pb'))).toEqual([]);
    await engine.stop();
  });

  it('reads inline outputs back from the Store when a new engine resumes an execution', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let waiting!: () => void;
    const started = new Promise<void>((resolve) => (waiting = resolve));
    const slow = task(
      { name: 'offload.slow', inputs: { s: t.string() }, outputs: { s: t.string() } },
      async ({ s }) => {
        waiting();
        await held;
        return { s: s + '?' };
      },
    );
    const rwf = workflow(
      { name: 'offload.resume', inputs: { s: t.string() }, outputs: { s: t.string() } },
      ({ s }) => ({
        s: slow({ s: echo({ s }).s }).s,
      }),
    );
    const store = new MemoryStore();
    const blob = new MemoryBlobStore();
    const first = await startEngine({ store, blob });
    await first.engine.register([rwf], settings);
    await first.engine.createExecution({ workflow: rwf.id(settings), name: 'resume', inputs: { s: 'r' } });
    await started;
    await first.engine.stop();
    release();

    const second = await startEngine({ store, blob, tasks: [echo, slow] });
    const execution = await second.engine.waitForExecution(execId('resume'));
    expect(phaseOf(execution)).toBe('SUCCEEDED');
    expect(fromLiteralMap(rwf.outputs, await second.engine.getExecutionOutputs(execId('resume')))).toEqual({
      s: 'r!?',
    });
    expect((await blobUris(blob, 'resume')).filter((uri) => uri.endsWith('/outputs.pb'))).toEqual([]);
    await second.engine.stop();
  });

  it('refuses execution inputs above the size limit with INVALID_INPUTS, creating nothing', async () => {
    const { engine, blob } = await startEngine({
      config: { data: { inlineLimitBytes: 100, maxLiteralMapBytes: 1000 } },
    });
    await engine.register([wf], settings);
    await expect(
      engine.createExecution({ workflow: wf.id(settings), name: 'big-inputs', inputs: { s: 'z'.repeat(2000) } }),
    ).rejects.toMatchObject({ code: 'INVALID_INPUTS', id: 'big-inputs' });
    expect(await engine.getExecution(execId('big-inputs'))).toBeUndefined();
    expect(await blobUris(blob, 'big-inputs')).toEqual([]);
    await engine.stop();
  });

  it('bounds the encoded size of simple LiteralMaps from above, and gives up on anything else', () => {
    const samples: { [name: string]: unknown }[] = [
      {},
      { a: 1, b: -1, c: Number.MAX_SAFE_INTEGER, d: -Number.MAX_SAFE_INTEGER },
      { s: '', u: 'é😀'.repeat(50), f: -0.1, t: true },
      { xs: [1, 2, 3], m: { k: 'v', 'odd key': '' } },
      { when: new Date(Date.UTC(2262, 0, 1)), nested: [[1.5], [], [2.5, 3.5]] },
    ];
    for (const values of samples) {
      const map = idl.core.LiteralMapSchema;
      const literals = toLiteralMap(
        Object.fromEntries(Object.entries(values).map(([k, v]) => [k, typeOfSample(v)])),
        values as never,
      );
      const actual = toBinary(map, literals).byteLength;
      const bound = upperBoundSize(literals, 1_000_000);
      expect(bound, JSON.stringify(values)).toBeGreaterThanOrEqual(actual);
      expect(bound, 'not absurdly loose').toBeLessThan(actual * 20 + 200);
    }
    // Blobs, unions (optional values) and the like are encoded to know their size.
    expect(upperBoundSize(toLiteralMap({ f: t.file() }, { f: 's3://b/k' }), 1_000_000)).toBe(Infinity);
    expect(upperBoundSize(toLiteralMap({ n: t.optional(t.int()) }, { n: null }), 1_000_000)).toBe(Infinity);
    expect(upperBoundSize(toLiteralMap({ s: t.string() }, { s: 'x'.repeat(500) }), 100)).toBe(Infinity);
  });

  it('refuses limits that contradict each other', async () => {
    await expect(startEngine({ config: { data: { inlineLimitBytes: 10, maxLiteralMapBytes: 5 } } })).rejects.toThrow(
      /inlineLimitBytes/,
    );
    await expect(startEngine({ config: { data: { inlineLimitBytes: -1 } } })).rejects.toThrow(/non-negative/);
  });
});
