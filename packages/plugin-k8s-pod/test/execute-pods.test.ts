// TypeScript tasks as pods, end to end: a real engine runs a workflow of `task()` definitions with the pod plugin
// on the fake API server, whose pods run `flyte-ts-execute` (this package's bin, from sources) as local processes
// that load the tasks by module and name and read and write the LocalFsBlobStore the engine uses.
import { create } from '@bufbuild/protobuf';
import { fromLiteralMap, idl, t, workflow } from '@flyte-ts/core';
import { afterEach, describe, expect, it } from 'vitest';
import { countWords, square, validate, writeReport } from './support/pod-tasks.js';
import { execId, settings, startPodCluster, type Cleanups } from './support/setup.js';

const cleanups: Cleanups = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function setup() {
  return startPodCluster(cleanups);
}

function nodeId(execution: string, node: string): idl.core.NodeExecutionIdentifier {
  return create(idl.core.NodeExecutionIdentifierSchema, { nodeId: node, executionId: execId(execution) });
}

const report = workflow(
  {
    name: 'pods.report',
    inputs: { title: t.string(), lines: t.int(), x: t.int() },
    outputs: { words: t.int(), summary: t.string(), report: t.file({ format: 'txt' }), y: t.int() },
  },
  ({ title, lines, x }) => {
    const written = writeReport({ title, lines });
    const counted = countWords({ report: written.report });
    return { words: counted.words, summary: counted.summary, report: written.report, y: square({ x }).y };
  },
);

// Each pod is a Node process loading TypeScript through tsx: give the runs time on a loaded machine.
describe('TypeScript tasks as pods through flyte-ts-execute', { timeout: 60_000 }, () => {
  it('run a workflow whose pods pass a file from one task to the next on the blob store', async () => {
    const { fake, engine, blob } = await setup();
    await engine.register([report], settings);
    await engine.createExecution({
      workflow: report.id(settings),
      name: 'r1',
      inputs: { title: 'flyte ts', lines: 4, x: 7 },
    });
    const done = await engine.waitForExecution(execId('r1'));
    const error = done.closure?.outputResult.case === 'error' ? done.closure.outputResult.value : undefined;
    expect(idl.core.WorkflowExecution_Phase[done.closure?.phase ?? 0], error?.message).toBe('SUCCEEDED');
    const outputs = fromLiteralMap(
      { words: t.int(), summary: t.string(), report: t.file({ format: 'txt' }), y: t.int() },
      await engine.getExecutionOutputs(execId('r1')),
    );
    expect(outputs.words).toBe(16);
    // The execution and attempt come from the pod's FLYTE_INTERNAL_EXECUTION_* and FLYTE_ATTEMPT_NUMBER.
    expect(outputs.summary).toBe('16 words, execution r1, attempt 0');
    expect(outputs.y).toBe(49);
    // The file the first pod wrote locally was uploaded under the engine's raw-output prefix.
    expect(outputs.report.uri.startsWith(`${blob.rootUri}/raw/`)).toBe(true);
    expect(new TextDecoder().decode(await blob.get(outputs.report.uri))).toBe(
      'flyte ts line 1\nflyte ts line 2\nflyte ts line 3\nflyte ts line 4\n',
    );
    expect(fake.created).toBe(3);
    expect(fake.pods.size).toBe(0);
  });

  it('retry a task whose pod writes a user error document, then fail with its code', async () => {
    const { fake, engine } = await setup();
    await engine.register([validate], settings);
    await engine.createExecution({ task: validate.id(settings), name: 'v1', inputs: { x: -3 } });
    const done = await engine.waitForExecution(execId('v1'));
    expect(idl.core.WorkflowExecution_Phase[done.closure?.phase ?? 0]).toBe('FAILED');
    const error = done.closure?.outputResult.case === 'error' ? done.closure.outputResult.value : undefined;
    expect(error).toMatchObject({
      code: 'USER:ValidationError',
      message: 'x must not be negative, got -3',
      kind: idl.core.ExecutionError_ErrorKind.USER,
    });
    // retries: 1 — two attempts, two pods, each failing with the document its process wrote.
    const attempts = await engine.listTaskExecutions(nodeId('v1', 'n0'));
    expect(
      attempts.items.map((a) => (a.closure?.outputResult.case === 'error' ? a.closure.outputResult.value.code : '')),
    ).toEqual(['USER:ValidationError', 'USER:ValidationError']);
    expect(fake.created).toBe(2);
    expect([...fake.logs.values()].every((log) => log.includes('USER:ValidationError'))).toBe(true);
  });
});
