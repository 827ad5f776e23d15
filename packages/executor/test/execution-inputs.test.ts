// An execution's inputs belong to the call that created it: two calls racing for one name never mix their inputs,
// the call that lost leaves nothing behind, and executions written before the record referenced its inputs are
// still read from their fixed path.
import { fromLiteralMap, t, task, workflow, type BlobStore } from '@flyte-ts/core';
import type { Engine } from '@flyte-ts/executor';
import { MemoryStore } from '@flyte-ts/store-memory';
import { describe, expect, it } from 'vitest';
import { execId, phaseOf, settings, startEngine } from './support.js';

const times10 = task({ name: 'inputs.times10', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({
  y: x * 10,
}));
const raceWf = workflow({ name: 'inputs.race_wf', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({
  y: times10({ x }).y,
}));
const readText = task(
  { name: 'inputs.read_text', inputs: { f: t.file() }, outputs: { text: t.string() } },
  async ({ f }) => ({ text: new TextDecoder().decode(await f.bytes()) }),
);
const fileWf = workflow(
  { name: 'inputs.file_wf', inputs: { f: t.file() }, outputs: { text: t.string() } },
  ({ f }) => ({ text: readText({ f }).text }),
);

/** Races run per test: the bug showed in every one of 20 races, so a few dozen leave no room for luck. */
const RACES = 30;

/** Every object under a prefix. */
async function objects(blob: BlobStore, prefix: string): Promise<string[]> {
  const uris: string[] = [];
  let token: string | undefined;
  do {
    const page = await blob.list(prefix, token === undefined ? {} : { token });
    uris.push(...page.items.map((item) => item.uri));
    token = page.nextToken;
  } while (token !== undefined);
  return uris;
}

/** The input LiteralMaps stored in the execution's own metadata directory (not those of its nodes). */
async function executionInputBlobs(engine: Engine, blob: BlobStore, name: string): Promise<string[]> {
  const dir = `${engine.config.metadataPrefix}/${settings.project}/${settings.domain}/${name}/`;
  return (await objects(blob, dir)).filter((uri) => /^inputs[^/]*\.pb$/.test(uri.slice(dir.length)));
}

/** Starts two creations of one name at once: the index of the one that won, after checking the other lost. */
async function race(engine: Engine, creations: readonly (() => Promise<unknown>)[]): Promise<number> {
  const calls = await Promise.allSettled(creations.map((create) => create()));
  expect(calls.map((call) => call.status).sort()).toEqual(['fulfilled', 'rejected']);
  const won = calls.findIndex((call) => call.status === 'fulfilled');
  expect((calls[1 - won] as PromiseRejectedResult).reason).toMatchObject({ code: 'ALREADY_EXISTS' });
  return won;
}

describe('execution inputs', () => {
  it('are those of the call that created the execution when two calls race for its name', async () => {
    const { engine, blob } = await startEngine();
    await engine.register([raceWf], settings);
    for (let i = 0; i < RACES; i++) {
      const name = `race${i}`;
      const values = [2 * i + 1, 2 * i + 2];
      const won = await race(
        engine,
        values.map((x) => () => engine.createExecution({ workflow: raceWf.id(settings), name, inputs: { x } })),
      );
      const x = values[won]!;
      expect(phaseOf(await engine.waitForExecution(execId(name)))).toBe('SUCCEEDED');
      expect(fromLiteralMap(raceWf.inputs, await engine.getExecutionInputs(execId(name))), name).toEqual({ x });
      expect(fromLiteralMap(raceWf.outputs, await engine.getExecutionOutputs(execId(name))), name).toEqual({
        y: 10 * x,
      });
      expect(await executionInputBlobs(engine, blob, name), 'the losing call left no inputs').toHaveLength(1);
    }
    await engine.stop();
  });

  it('keep the files uploaded by the winning call, and the losing call removes its uploads', async () => {
    const { engine, blob } = await startEngine();
    await engine.register([fileWf], settings);
    for (let i = 0; i < RACES; i++) {
      const name = `race-file${i}`;
      const texts = [`first ${i}`, `second ${i}`];
      const won = await race(
        engine,
        texts.map(
          (text) => () =>
            engine.createExecution({
              workflow: fileWf.id(settings),
              name,
              inputs: { f: { body: text, name: 'f.txt' } },
            }),
        ),
      );
      expect(phaseOf(await engine.waitForExecution(execId(name)))).toBe('SUCCEEDED');
      expect(fromLiteralMap(fileWf.outputs, await engine.getExecutionOutputs(execId(name))), name).toEqual({
        text: texts[won],
      });
      const uploads = (await objects(blob, `${engine.config.rawOutputPrefix}/${settings.project}/`)).filter((uri) =>
        uri.includes(`/${name}/inputs`),
      );
      expect(uploads, 'only the winning call uploaded files remain').toHaveLength(1);
    }
    await engine.stop();
  });

  it('of an execution written by an earlier version are read from its fixed inputs.pb', async () => {
    // An execution record as the previous version wrote it: no reference, the inputs at the execution's inputs.pb.
    const earlier = await startEngine();
    await earlier.engine.stop();
    await earlier.engine.register([raceWf], settings);
    await earlier.engine.createExecution({ workflow: raceWf.id(settings), name: 'legacy', inputs: { x: 7 } });
    const written = (await earlier.store.getExecution(execId('legacy')))!;
    const [inputs] = await executionInputBlobs(earlier.engine, earlier.blob, 'legacy');
    const store = new MemoryStore();
    for (const project of (await earlier.store.listProjects()).items) await store.putProject(project);
    for (const workflowEntity of (await earlier.store.listWorkflows()).items) {
      await store.createWorkflow({ entity: workflowEntity, digest: 'copied' });
    }
    for (const lp of (await earlier.store.listLaunchPlans()).items) {
      await store.createLaunchPlan({ entity: lp, digest: 'copied' });
    }
    await store.createExecution({ execution: written.execution });
    const fixed = `${earlier.engine.config.metadataPrefix}/${settings.project}/${settings.domain}/legacy/inputs.pb`;
    if (inputs !== fixed) {
      await earlier.blob.put(fixed, await earlier.blob.get(inputs!));
      await earlier.blob.delete(inputs!);
    }

    const { engine } = await startEngine({ store, blob: earlier.blob, tasks: [times10] });
    expect(phaseOf(await engine.waitForExecution(execId('legacy')))).toBe('SUCCEEDED');
    expect(fromLiteralMap(raceWf.outputs, await engine.getExecutionOutputs(execId('legacy')))).toEqual({ y: 70 });
    expect(fromLiteralMap(raceWf.inputs, await engine.getExecutionInputs(execId('legacy')))).toEqual({ x: 7 });
    const again = await engine.relaunchExecution(execId('legacy'), { name: 'legacy-again' });
    expect(phaseOf(await engine.waitForExecution(again.id!))).toBe('SUCCEEDED');
    expect(fromLiteralMap(raceWf.outputs, await engine.getExecutionOutputs(again.id!))).toEqual({ y: 70 });
    await engine.stop();
  });
});
