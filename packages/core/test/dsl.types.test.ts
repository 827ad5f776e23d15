// Type-level tests: what the TypeScript compiler must accept and reject. Each `@ts-expect-error` line fails
// `npm run typecheck` if it ever compiles, so these tests fail when a misuse stops being a type error.
import type { JsonObject } from '@bufbuild/protobuf';
import { describe, expectTypeOf, it } from 'vitest';
import {
  conditional,
  launchPlan,
  map,
  t,
  task,
  workflow,
  type FlyteDirectory,
  type FlyteFile,
  type OutputPromise,
  type ValueOf,
} from '@flyte-ts/core';

/** Type-checks code that misuses the API without running it (at run time it would throw). */
const typeOnly = (_misuse: () => void): void => undefined;

describe('type builders give TypeScript types', () => {
  it('maps each Flyte type to its TypeScript value', () => {
    expectTypeOf<ValueOf<ReturnType<typeof t.int>>>().toEqualTypeOf<number>();
    expectTypeOf<ValueOf<ReturnType<typeof t.int64>>>().toEqualTypeOf<bigint>();
    expectTypeOf<ValueOf<ReturnType<typeof t.float>>>().toEqualTypeOf<number>();
    expectTypeOf<ValueOf<ReturnType<typeof t.datetime>>>().toEqualTypeOf<Date>();
    expectTypeOf<ValueOf<ReturnType<typeof t.binary>>>().toEqualTypeOf<Uint8Array>();
    expectTypeOf<ValueOf<ReturnType<typeof t.none>>>().toEqualTypeOf<null>();
    const _colors = t.enum(['red', 'green']);
    expectTypeOf<ValueOf<typeof _colors>>().toEqualTypeOf<'red' | 'green'>();
    const _nested = t.map(t.list(t.optional(t.file())));
    expectTypeOf<ValueOf<typeof _nested>>().toEqualTypeOf<{ [key: string]: (FlyteFile | null)[] }>();
    expectTypeOf<ValueOf<ReturnType<typeof t.directory>>>().toEqualTypeOf<FlyteDirectory>();
    const _either = t.union(t.int(), t.string());
    expectTypeOf<ValueOf<typeof _either>>().toEqualTypeOf<number | string>();
    const _point = t.struct<{ x: number; y: number }>();
    expectTypeOf<ValueOf<typeof _point>>().toEqualTypeOf<{ x: number; y: number }>();
  });

  it('checks constants given to toLiteral', () => {
    t.list(t.int()).toLiteral([1, 2n]);
    t.optional(t.string()).toLiteral(null);
    t.file().toLiteral('s3://bucket/key');
    typeOnly(() => {
      // @ts-expect-error a string is not an integer
      t.list(t.int()).toLiteral(['1']);
      // @ts-expect-error null is not a string
      t.string().toLiteral(null);
    });
  });
});

const square = task({ name: 'ty.square', inputs: { x: t.float() }, outputs: { y: t.float() } }, ({ x }) => {
  expectTypeOf(x).toEqualTypeOf<number>();
  return { y: x * x };
});
const count = task({ name: 'ty.count', inputs: { s: t.string() }, outputs: { n: t.int() } }, ({ s }) => ({
  n: s.length,
}));
const label = task(
  { name: 'ty.label', inputs: { n: t.optional(t.int()), tags: t.list(t.string()) }, outputs: { text: t.string() } },
  ({ n, tags }) => {
    expectTypeOf(n).toEqualTypeOf<number | null>();
    expectTypeOf(tags).toEqualTypeOf<string[]>();
    return { text: `${n ?? 0}` };
  },
);

const double = task({ name: 'ty.double', inputs: { n: t.int() }, outputs: { n: t.int() } }, ({ n }) => ({ n: 2 * n }));

describe('task functions are typed by their declaration', () => {
  it('infers untyped structs as JSON objects', () => {
    task({ name: 'ty.struct', inputs: { p: t.struct() } }, ({ p }) => {
      expectTypeOf(p).toEqualTypeOf<JsonObject>();
    });
  });

  it('rejects a wrong return value', () => {
    typeOnly(() => {
      // @ts-expect-error y must be a number
      task({ name: 'ty.bad', outputs: { y: t.float() } }, () => ({ y: 'no' }));
      // @ts-expect-error the output y is missing
      task({ name: 'ty.bad2', outputs: { y: t.float() } }, () => ({}));
    });
    // A task without outputs may return nothing.
    task({ name: 'ty.void' }, () => undefined);
  });

  it('types local runs', async () => {
    const run = () => square.run({ x: 2 });
    expectTypeOf(run).returns.resolves.toEqualTypeOf<{ y: number }>();
    // @ts-expect-error x must be a number
    void (() => square.run({ x: '2' }));
  });
});

describe('bindings are checked inside workflow builders', () => {
  it('accepts compatible promises and constants', () => {
    workflow(
      { name: 'ty.ok', inputs: { s: t.string(), xs: t.list(t.float()) }, outputs: { text: t.string() } },
      ({ s, xs }) => {
        expectTypeOf(s).toEqualTypeOf<OutputPromise<string, 'string'>>();
        const n = count({ s });
        // An integer promise may go to an optional integer; a list may mix promises and constants.
        const l = label({ n: n.n, tags: [s, 'const'] });
        // Optional inputs may be left out.
        label({ tags: [] });
        const squares = map(square)({ x: xs });
        expectTypeOf(squares.y).toEqualTypeOf<OutputPromise<number[], 'list<float>'>>();
        return { text: l.text };
      },
    );
  });

  it('rejects misuse', () => {
    typeOnly(() =>
      workflow({ name: 'ty.bad', inputs: { s: t.string(), f: t.float(), o: t.optional(t.int()) } }, ({ s, f, o }) => {
        // @ts-expect-error wrong input name
        square({ z: f });
        // @ts-expect-error a string promise cannot be bound to a float input
        square({ x: s });
        // @ts-expect-error an integer promise cannot be bound to a float input (no numeric widening in Flyte)
        square({ x: count({ s }).n });
        // @ts-expect-error an optional integer cannot be bound to a required integer
        double({ n: o });
        // @ts-expect-error the required input x is missing
        square({});
        // @ts-expect-error a list element of the wrong kind
        label({ tags: [f] });
        // @ts-expect-error an output that does not exist
        void square({ x: f }).z;
      }),
    );
  });

  it('checks what a builder returns', () => {
    typeOnly(() => {
      // @ts-expect-error the output total must be bound with a float
      workflow({ name: 'ty.out', inputs: { s: t.string() }, outputs: { total: t.float() } }, ({ s }) => ({ total: s }));
      // @ts-expect-error the output total is missing
      workflow({ name: 'ty.out2', outputs: { total: t.float() } }, () => ({}));
    });
  });

  it('types branch outputs by their cases', () => {
    workflow({ name: 'ty.branch', inputs: { x: t.float() }, outputs: { y: t.float() } }, ({ x }) => {
      const r = conditional('c')
        .if(x.gt(0))
        .then(() => square({ x }))
        .else(() => square({ x: 0 }));
      expectTypeOf(r.y).toEqualTypeOf<OutputPromise<number, 'float'>>();
      return { y: r.y };
    });
  });

  it('types subworkflow and launch plan calls, without fixed inputs and with defaults optional', () => {
    const sub = workflow(
      { name: 'ty.sub', inputs: { a: t.float(), b: t.float() }, outputs: { c: t.float() }, defaults: { b: 1 } },
      ({ a }) => ({ c: square({ x: a }).y }),
    );
    const lp = launchPlan(sub, { name: 'ty.sub.lp', fixedInputs: { a: 2 } });
    workflow({ name: 'ty.calls', outputs: { c: t.float() } }, () => {
      sub({ a: 1 });
      return { c: lp().c };
    });
    typeOnly(() =>
      workflow({ name: 'ty.calls.bad' }, () => {
        // @ts-expect-error a is required
        sub({ b: 1 });
        // @ts-expect-error a is fixed by the launch plan
        lp({ a: 1 });
      }),
    );
  });
});
