// Behaviours a review found missing: long sleeps, explicit nulls, identifiers, inherited property names,
// URI joining, duration normalization, immutability of what the DSL hands out, and definition finality.
import { toJson } from '@bufbuild/protobuf';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  DataStore,
  FlyteError,
  fromLiteralMap,
  idl,
  joinUri,
  LiteralTypeError,
  systemClock,
  t,
  task,
  taskId,
  toLiteralMap,
  workflow,
  workflowClosure,
  launchPlan,
  workflowId,
  type BlobStore,
} from '@flyte-ts/core';

describe('systemClock', () => {
  afterEach(() => vi.useRealTimers());

  it('sleeps longer than a Node timer can (about 24.8 days)', async () => {
    vi.useFakeTimers();
    let done = false;
    const sleeping = systemClock.sleep(3e9).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(2 ** 31);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(3e9 - 2 ** 31);
    await sleeping;
    expect(done).toBe(true);
  });

  it('stops sleeping when aborted', async () => {
    const controller = new AbortController();
    const sleeping = systemClock.sleep(60_000, controller.signal);
    controller.abort(new Error('stop'));
    await expect(sleeping).rejects.toThrow('stop');
  });
});

describe('identifiers', () => {
  it('keep their resource type whatever the parts carry', () => {
    const id = taskId(workflowId({ project: 'p', domain: 'd', name: 'n', version: 'v' }));
    expect(id.resourceType).toBe(idl.core.ResourceType.TASK);
  });
});

describe('variables named like Object.prototype members', () => {
  it('are read as missing when absent, with a coded error', () => {
    expect(() => fromLiteralMap({ constructor: t.int() }, toLiteralMap({}, {}))).toThrow(LiteralTypeError);
    const types = { toString: t.optional(t.string()) };
    expect(fromLiteralMap(types, toLiteralMap(types, {} as never))).toEqual({ toString: null });
  });

  it('map keys named __proto__ survive conversion', () => {
    const value = JSON.parse('{"__proto__": 1, "a": 2}') as { [key: string]: number };
    const back = t.map(t.int()).fromLiteral(t.map(t.int()).toLiteral(value));
    expect(Object.keys(back)).toEqual(['__proto__', 'a']);
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
  });
});

describe('joinUri', () => {
  it.each([
    [['s3://bucket/metadata/', 'p', 'd'], 's3://bucket/metadata/p/d'],
    [['mem://', 'a', 'b/c'], 'mem://a/b/c'],
    [['file:///', 'tmp', 'x'], 'file:///tmp/x'],
    [['file:///data', 'x'], 'file:///data/x'],
  ])('joins %j', (parts, uri) => {
    expect(joinUri(...(parts as [string, ...string[]]))).toBe(uri);
  });

  it.each([['p', '', 'x'], ['a//b'], ['../escape'], ['.']])('rejects %j', (...parts) => {
    expect(() => joinUri('s3://b', ...parts)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('rejects node paths of executions without project or domain', () => {
    const store = new DataStore({ scheme: 'mem' } as BlobStore, {
      metadataPrefix: 'mem://m',
      rawOutputPrefix: 'mem://r',
    });
    const id = { project: '', domain: 'd', name: 'e' } as idl.core.WorkflowExecutionIdentifier;
    expect(() => store.nodePaths(id, 'n0', 0)).toThrow(FlyteError);
  });

  it('gives the paths joinUri gives, for simple and nested node ids, asked for once or many times', () => {
    const store = new DataStore({ scheme: 'mem' } as BlobStore, {
      metadataPrefix: 'mem://m/meta/',
      rawOutputPrefix: 'mem://r',
    });
    const id = { project: 'p', domain: 'd', name: 'e' } as idl.core.WorkflowExecutionIdentifier;
    for (let round = 0; round < 2; round++) {
      for (const node of ['n0', 'n0-0-n1', 'a/b', 'end-node', '.x', '..y']) {
        for (const attempt of [0, 3]) {
          expect(store.nodePaths(id, node, attempt).dir).toBe(
            joinUri('mem://m/meta/', 'p', 'd', 'e', node, `${attempt}`),
          );
          expect(store.rawOutputPath(id, node, attempt)).toBe(joinUri('mem://r', 'p', 'd', 'e', node, `${attempt}`));
        }
      }
      for (const bad of ['..', '.', '', 'a//b', '/a']) {
        expect(() => store.nodePaths(id, bad, 0), bad).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
        expect(() => store.rawOutputPath(id, bad, 0), bad).toThrow(
          expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
        );
      }
    }
    expect(store.rawOutputPath(id, 'n0', 1, 's3://custom/')).toBe('s3://custom/p/d/e/n0/1');
    // The same id object, changed: new paths.
    id.name = 'e2';
    expect(store.nodePaths(id, 'n0', 0).dir).toBe('mem://m/meta/p/d/e2/n0/0');
    expect(store.rawOutputPath(id, 'n0', 0)).toBe('mem://r/p/d/e2/n0/0');
  });
});

describe('durations', () => {
  it('are normalized protobuf Durations', () => {
    const template = task({ name: 'd.t', timeout: 1999.9999999 }, () => undefined).template();
    expect(toJson(idl.core.TaskMetadataSchema, template.metadata!)).toMatchObject({ timeout: '2s' });
    const negative = t.duration().toLiteral(-1.5);
    const primitive =
      negative.value.case === 'scalar' && negative.value.value.value.case === 'primitive'
        ? negative.value.value.value.value.value
        : undefined;
    expect(primitive).toMatchObject({ case: 'duration', value: { seconds: -0n, nanos: -1_500_000 } });
  });
});

describe('what the DSL hands out is the caller’s to change', () => {
  it('templates are fresh copies; types are not shared with them', () => {
    const double = task({ name: 'i.double', inputs: { n: t.int() }, outputs: { n: t.int() } }, ({ n }) => ({
      n: 2 * n,
    }));
    const first = double.template();
    first.id!.project = 'changed';
    first.interface!.inputs!.variables['n']!.type!.metadata = { changed: true };
    expect(double.template().id!.project).toBe('');
    expect(double.inputs.n.literalType.metadata).toBeUndefined();
    expect(t.int().literalType.metadata).toBeUndefined();
  });

  it('struct values are copied in and out', () => {
    const value = { a: { b: 1 } };
    const literal = t.struct().toLiteral(value);
    value.a.b = 2;
    const read = t.struct().fromLiteral(literal) as { a: { b: number } };
    expect(read.a.b).toBe(1);
    read.a.b = 3;
    expect((t.struct().fromLiteral(literal) as { a: { b: number } }).a.b).toBe(1);
  });
});

describe('a defined workflow is final', () => {
  const inc = task({ name: 'f.inc', inputs: { x: t.int() }, outputs: { x: t.int() } }, ({ x }) => ({ x: x + 1 }));
  const noop = task({ name: 'f.noop', inputs: { x: t.optional(t.int()) } }, () => undefined);

  it('refuses overrides after the builder returned', () => {
    let kept: ReturnType<typeof inc> | undefined;
    workflow({ name: 'f.wf' }, () => {
      kept = inc({ x: 1 });
    });
    expect(() => kept!.withOverrides({ id: 'n9' })).toThrow(expect.objectContaining({ code: 'NOT_IN_WORKFLOW' }));
  });

  it('refuses a node id taken by the failure node', () => {
    expect(() =>
      workflow({ name: 'f.wf2', onFailure: noop }, () => {
        inc({ x: 1 }).withOverrides({ id: 'fn0' });
      }),
    ).toThrow(/two nodes have the id fn0/);
  });

  it('binds an explicit null over a default', () => {
    const sub = workflow({ name: 'f.sub', inputs: { x: t.optional(t.int()) }, defaults: { x: 5 } }, ({ x }) => {
      noop({ x });
    });
    const parent = workflow({ name: 'f.parent' }, () => {
      sub({ x: null });
    });
    const binding = parent.template().nodes[0]!.inputs[0]!.binding!;
    expect(toJson(idl.core.BindingDataSchema, binding)).toMatchObject({
      scalar: { union: { value: { scalar: { noneType: {} } } } },
    });
  });
});

describe('workflowClosure', () => {
  it('holds the tasks of subworkflows but not those of launched workflows', () => {
    const a = task({ name: 'w.a' }, () => undefined);
    const b = task({ name: 'w.b' }, () => undefined);
    const child = workflow({ name: 'w.child' }, () => void a());
    const plan = launchPlan(child, { name: 'w.child.plan' });
    const parent = workflow({ name: 'w.parent' }, () => {
      b();
      plan();
    });
    expect(workflowClosure(parent).tasks.map((x) => x.id?.name)).toEqual(['w.b']);
  });
});
