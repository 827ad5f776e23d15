// What plugins and callers hand the engine nests at most MAX_NESTING_DEPTH levels: outputs written through the
// context or by the plugin itself, custom info, and signal values deeper than that fail the node (coded
// NESTING_TOO_DEEP, not retried) or are refused, so no record the engine writes is unreadable.
import { create, toBinary, type JsonObject } from '@bufbuild/protobuf';
import {
  idl,
  MAX_NESTING_DEPTH,
  t,
  task,
  waitForInput,
  workflow,
  type PluginTransition,
  type TaskContext,
  type TaskPlugin,
} from '@flyte-ts/core';
import { describe, expect, it } from 'vitest';
import { execId, nodePhase, phaseOf, settings, startEngine } from './support.js';

const N = MAX_NESTING_DEPTH;

function nested(levels: number): JsonObject {
  let value: JsonObject = { leaf: levels };
  for (let i = 1; i < levels; i++) value = { a: value };
  return value;
}

function structMap(value: JsonObject): idl.core.LiteralMap {
  const literal: idl.core.Literal = {
    $typeName: 'flyteidl.core.Literal',
    value: { case: 'scalar', value: { $typeName: 'flyteidl.core.Scalar', value: { case: 'generic', value } } },
    hash: '',
    metadata: {},
  };
  return create(idl.core.LiteralMapSchema, { literals: { s: literal } });
}

type Mode = 'write' | 'own-file' | 'custom-info';

/** A plugin producing a struct `levels` deep: through the context, in its own outputs.pb, or as custom info. */
class DeepPlugin implements TaskPlugin {
  readonly id = 'deep';
  readonly taskTypes = ['deep'];
  constructor(
    private readonly mode: Mode,
    private readonly levels: number,
  ) {}

  async handle(ctx: TaskContext): Promise<PluginTransition> {
    const outputs = structMap(nested(this.mode === 'custom-info' ? 1 : this.levels));
    if (this.mode === 'own-file') {
      await ctx.blob.put(ctx.outputs.outputsUri, toBinary(idl.core.LiteralMapSchema, outputs));
    } else {
      await ctx.outputs.write(outputs);
    }
    return this.mode === 'custom-info' ? { phase: 'success', customInfo: nested(this.levels) } : { phase: 'success' };
  }

  async abort(): Promise<void> {}
  async finalize(): Promise<void> {}
}

const deep = task({ name: 'nest.plugin', outputs: { s: t.struct() }, taskType: 'deep', retries: 2 }, () => {
  throw new Error('runs in the plugin');
});
const wf = workflow({ name: 'nest.plugin-wf', outputs: { s: t.struct() } }, () => ({ s: deep().s }));

describe('nesting of what plugins report', () => {
  it.each([
    ['written through the context', 'write', N + 1],
    ['written by the plugin itself', 'own-file', N + 1],
    ['written by the plugin itself, too deep to decode', 'own-file', 60],
    ['as custom info', 'custom-info', N + 1],
  ] as const)('fails the node, once, with NESTING_TOO_DEEP for outputs %s', async (_name, mode, levels) => {
    const { engine } = await startEngine({ plugins: [new DeepPlugin(mode, levels)] });
    await engine.register([wf], settings);
    await engine.createExecution({ workflow: wf.id(settings), name: 'e' });
    expect(phaseOf(await engine.waitForExecution(execId('e')))).toBe('FAILED');
    const node = await engine.getNodeExecution({
      $typeName: 'flyteidl.core.NodeExecutionIdentifier',
      nodeId: 'n0',
      executionId: execId('e'),
    });
    expect(nodePhase(node)).toBe('FAILED');
    const result = node!.closure!.outputResult;
    expect(result.case === 'error' ? result.value.code : result.case).toBe('NESTING_TOO_DEEP');
    const attempts = await engine.listTaskExecutions(node!.id!);
    expect(attempts.items).toHaveLength(1);
    await engine.stop();
  });

  it.each([
    ['written through the context', 'write'],
    ['written by the plugin itself', 'own-file'],
    ['as custom info', 'custom-info'],
  ] as const)('accepts outputs %s nesting MAX_NESTING_DEPTH levels', async (_name, mode) => {
    const { engine } = await startEngine({ plugins: [new DeepPlugin(mode, N)] });
    await engine.register([wf], settings);
    await engine.createExecution({ workflow: wf.id(settings), name: 'e' });
    expect(phaseOf(await engine.waitForExecution(execId('e')))).toBe('SUCCEEDED');
    await engine.stop();
  });

  it('refuses a signal value nesting deeper than MAX_NESTING_DEPTH, and takes one at the limit', async () => {
    const gated = workflow({ name: 'nest.gate', outputs: { s: t.struct() } }, () => ({
      s: waitForInput('config', t.struct()),
    }));
    const { engine } = await startEngine();
    await engine.register([gated], settings);
    await engine.createExecution({ workflow: gated.id(settings), name: 'g' });
    const tooDeep = structMap(nested(N + 1)).literals['s']!;
    await expect(engine.setSignal(execId('g'), 'config', tooDeep)).rejects.toMatchObject({
      code: 'NESTING_TOO_DEEP',
      id: 'signal config',
    });
    await engine.setSignal(execId('g'), 'config', structMap(nested(N)).literals['s']!);
    expect(phaseOf(await engine.waitForExecution(execId('g')))).toBe('SUCCEEDED');
    await engine.stop();
  });
});
