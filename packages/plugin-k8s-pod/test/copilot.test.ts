// Raw containers (any image, no SDK) on Flyte's copilot contract, end to end: a real engine runs `container` tasks
// whose TaskTemplate.container.data_config is enabled; the pods on the fake API server run the copilot downloader
// (an init container), the user's shell script (the primary) and the copilot uploader (a sidecar) as local
// processes — `flyte-ts-execute copilot-*` from this package's sources — sharing the pod's emptyDir volumes.
import { create } from '@bufbuild/protobuf';
import { fromLiteralMap, idl, serialize, t, task } from '@flyte-ts/core';
import { afterEach, describe, expect, it } from 'vitest';
import { COPILOT_DOWNLOADER_NAME, COPILOT_UPLOADER_NAME } from '../src/index.js';
import type { FakeApiServer } from '../src/testing/index.js';
import { execId, settings, startPodCluster, type Cleanups } from './support/setup.js';

const cleanups: Cleanups = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function setup() {
  return startPodCluster(cleanups, { copilotImage: 'example/flyte-ts-copilot:1', copilotPollMs: 100 });
}

const unused = () => {
  throw new Error('runs in a raw container');
};

/**
 * A raw container task: the interface of `definition`, the image `alpine`, `sh -c script`, and a data config
 * with the given paths and format (the task's registration as any SDK would write it).
 */
function rawTask(
  definition: Parameters<typeof task>[0],
  script: string,
  format = idl.core.DataLoadingConfig_LiteralMapFormat.JSON,
): ReturnType<typeof serialize> {
  const serialized = serialize([task(definition, unused)], settings);
  const template = serialized.tasks[0]!.template!;
  if (template.target.case !== 'container') throw new Error('not a container task');
  template.target.value.image = 'alpine:3';
  template.target.value.command = ['sh', '-c', script];
  template.target.value.args = [];
  template.target.value.dataConfig = create(idl.core.DataLoadingConfigSchema, {
    enabled: true,
    inputPath: '/var/flyte/inputs',
    outputPath: '/var/flyte/outputs',
    format,
  });
  return serialized;
}

function outcome(execution: idl.admin.Execution): { phase: string; error?: idl.core.ExecutionError } {
  const result = execution.closure?.outputResult;
  return {
    phase: idl.core.WorkflowExecution_Phase[execution.closure?.phase ?? 0] ?? '?',
    ...(result?.case === 'error' ? { error: result.value } : {}),
  };
}

// Each pod runs two Node processes (the copilot, through tsx) around the shell script.
describe('raw containers on the copilot contract', { timeout: 60_000 }, () => {
  it('give a raw container its inputs as files and record the output files it writes', async () => {
    const { fake, engine, blob } = await setup();
    const definition = {
      name: 'raw.double',
      inputs: { x: t.int(), name: t.string(), notes: t.file({ format: 'txt' }) },
      outputs: { y: t.int(), inputs: t.string(), shout: t.file({ format: 'txt' }), ok: t.boolean() },
      taskType: 'container',
      image: 'unused',
    } as const;
    const script = [
      'set -e',
      'in=/var/flyte/inputs; out=/var/flyte/outputs',
      'test -f "$in/inputs.pb"',
      'echo $(( $(cat "$in/x") * 2 )) > "$out/y"',
      'cat "$in/inputs.json" > "$out/inputs"',
      'tr a-z A-Z < "$in/notes" > "$out/shout"',
      'test "$(cat "$in/name")" = flyte && echo true > "$out/ok"',
    ].join('\n');
    await engine.register(rawTask(definition, script));
    const notes = `${blob.rootUri}/data/notes.txt`;
    await blob.put(notes, new TextEncoder().encode('raw containers, no sdk\n'));
    await engine.createExecution({
      task: task(definition, unused).id(settings),
      name: 'c1',
      inputs: { x: 21, name: 'flyte', notes: { uri: notes, format: 'txt' } },
    });
    const done = await engine.waitForExecution(execId('c1'));
    const { phase, error } = outcome(done);
    expect(phase, `${error?.message}\n${[...fake.logs.values()].join('\n')}`).toBe('SUCCEEDED');
    const outputs = fromLiteralMap(definition.outputs, await engine.getExecutionOutputs(execId('c1')));
    expect(outputs.y).toBe(42);
    expect(outputs.ok).toBe(true);
    // inputs.json: the whole map, primitives as values and the file as its local path under the input path.
    const all = JSON.parse(outputs.inputs) as Record<string, unknown>;
    expect(all).toMatchObject({ x: 21, name: 'flyte' });
    expect(all['notes']).toMatch(/\/flyte-inputs\/notes$/);
    // The blob input was downloaded as a file; the blob output was uploaded under the raw-output prefix.
    expect(outputs.shout.uri.startsWith(`${blob.rootUri}/raw/`)).toBe(true);
    expect(new TextDecoder().decode(await blob.get(outputs.shout.uri))).toBe('RAW CONTAINERS, NO SDK\n');
    expect(fake.created).toBe(1);
    expect(fake.pods.size).toBe(0);
  });

  it('build the pod of a raw container: emptyDir volumes, the downloader and the uploader around it', async () => {
    const { fake, engine } = await setup();
    const definition = {
      name: 'raw.yaml',
      inputs: { x: t.int() },
      outputs: { y: t.float() },
      taskType: 'container',
      image: 'unused',
    } as const;
    const script = 'grep -q "\\"x\\":7" /var/flyte/inputs/inputs.yaml && echo 3.5 > /var/flyte/outputs/y';
    await engine.register(rawTask(definition, script, idl.core.DataLoadingConfig_LiteralMapFormat.YAML));
    const seen = new Promise<NonNullable<ReturnType<FakeApiServer['pod']>>>((resolve) => {
      const look = setInterval(() => {
        const pod = [...fake.pods.values()][0];
        if (pod !== undefined) {
          clearInterval(look);
          resolve(pod);
        }
      }, 10);
    });
    await engine.createExecution({ task: task(definition, unused).id(settings), name: 'c2', inputs: { x: 7 } });
    const pod = await seen;
    expect(pod.spec.volumes).toEqual([
      { name: 'flyte-inputs', emptyDir: {} },
      { name: 'flyte-outputs', emptyDir: {} },
    ]);
    expect(pod.spec.initContainers?.map((c) => [c.name, c.image, c.command])).toEqual([
      [COPILOT_DOWNLOADER_NAME, 'example/flyte-ts-copilot:1', ['flyte-ts-execute', 'copilot-download']],
    ]);
    expect(pod.spec.initContainers?.[0]?.args).toContain('yaml');
    const [main, uploader] = pod.spec.containers;
    expect(main?.command?.[0]).toBe('sh');
    expect(main?.volumeMounts).toEqual([
      { name: 'flyte-inputs', mountPath: '/var/flyte/inputs' },
      { name: 'flyte-outputs', mountPath: '/var/flyte/outputs' },
    ]);
    expect(uploader?.name).toBe(COPILOT_UPLOADER_NAME);
    expect(uploader?.volumeMounts).toEqual([{ name: 'flyte-outputs', mountPath: '/var/flyte/outputs' }]);
    const done = await engine.waitForExecution(execId('c2'));
    expect(outcome(done).phase, outcome(done).error?.message).toBe('SUCCEEDED');
    expect(fromLiteralMap(definition.outputs, await engine.getExecutionOutputs(execId('c2')))).toEqual({ y: 3.5 });
  });

  it("fail the task with a raw container's exit code and log, without an upload", async () => {
    const { fake, engine } = await setup();
    const definition = {
      name: 'raw.crash',
      inputs: { x: t.int() },
      outputs: { y: t.int() },
      taskType: 'container',
      image: 'unused',
    } as const;
    await engine.register(rawTask(definition, 'echo "cannot read $(cat /var/flyte/inputs/x)" >&2; exit 4'));
    await engine.createExecution({ task: task(definition, unused).id(settings), name: 'c3', inputs: { x: 5 } });
    const { phase, error } = outcome(await engine.waitForExecution(execId('c3')));
    expect(phase).toBe('FAILED');
    expect(error?.code).toBe('Error');
    expect(error?.message).toContain('terminated with exit code (4)');
    expect(error?.message).toContain('cannot read 5');
    expect(fake.created).toBe(1);
  });

  it('fail the task with the error a raw container writes, or when it leaves an output out', async () => {
    const { engine } = await setup();
    const definition = {
      name: 'raw.refuse',
      inputs: { x: t.int() },
      outputs: { y: t.int() },
      taskType: 'container',
      image: 'unused',
    } as const;
    const script =
      'if [ "$(cat /var/flyte/inputs/x)" -lt 0 ]; then echo "x must not be negative" > /var/flyte/outputs/_ERROR; fi';
    await engine.register(rawTask(definition, script));
    await engine.createExecution({ task: task(definition, unused).id(settings), name: 'c4', inputs: { x: -1 } });
    await engine.createExecution({ task: task(definition, unused).id(settings), name: 'c5', inputs: { x: 1 } });
    const refused = outcome(await engine.waitForExecution(execId('c4')));
    expect(refused.phase).toBe('FAILED');
    expect(refused.error).toMatchObject({
      code: 'USER:ContainerError',
      message: 'x must not be negative',
      kind: idl.core.ExecutionError_ErrorKind.USER,
    });
    const missing = outcome(await engine.waitForExecution(execId('c5')));
    expect(missing.phase).toBe('FAILED');
    expect(missing.error?.code).toBe('OutputUploadFailed');
    expect(missing.error?.message).toMatch(/output file .*\/y was not written/);
  });
});
