import { create } from '@bufbuild/protobuf';
import { idl, toLiteralMap, t } from '@flyte-ts/core';
import { describe, expect, it } from 'vitest';
import { resolveBindings } from '../src/runtime/bindings.js';

function promise(nodeId: string, variable: string): idl.core.Binding {
  return create(idl.core.BindingSchema, {
    var: `${nodeId}_${variable}`,
    binding: { value: { case: 'promise', value: { nodeId, var: variable } } },
  });
}

const outputs = toLiteralMap({ y: t.int() }, { y: 3 });

describe('resolveBindings', () => {
  it('resolves at once when every upstream output is in memory, later when one is read', async () => {
    const now = resolveBindings([promise('a', 'y'), promise('b', 'y')], () => outputs, 'n');
    expect(now).not.toBeInstanceOf(Promise);
    expect(Object.keys((now as idl.core.LiteralMap).literals)).toEqual(['a_y', 'b_y']);
    const later = resolveBindings(
      [promise('a', 'y'), promise('b', 'y')],
      (id) => (id === 'a' ? Promise.resolve(outputs) : outputs),
      'n',
    );
    expect(later).toBeInstanceOf(Promise);
    expect(Object.keys((await later).literals)).toEqual(['a_y', 'b_y']);
  });

  it('leaves no read unhandled when a later binding fails at once', async () => {
    let reject!: (error: Error) => void;
    const read = new Promise<idl.core.LiteralMap>((_, r) => (reject = r));
    expect(() =>
      resolveBindings([promise('a', 'y'), promise('b', 'missing')], (id) => (id === 'a' ? read : outputs), 'n'),
    ).toThrow(expect.objectContaining({ code: 'OutputsNotFound' }));
    // The read of a's outputs fails afterwards: nobody waits for it any more, and vitest would report an
    // unhandled rejection as an error of this test.
    reject(new Error('blob gone'));
    await new Promise((resolve) => setImmediate(resolve));
  });
});
