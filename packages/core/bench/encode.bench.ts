// encodeLiteralMap against protobuf-es toBinary, on the LiteralMaps a task node writes as inputs.pb.
// Run from the repository root: npx tsx --conditions=@flyte-ts/source packages/core/bench/encode.bench.ts
// Prints figures; asserts nothing but that both give the same bytes.
import { performance } from 'node:perf_hooks';
import { toBinary } from '@bufbuild/protobuf';
import { encodeLiteralMap, idl, t, toLiteralMap } from '../src/index.js';

function nsPerOp(iterations: number, fn: () => unknown): number {
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const started = performance.now();
    for (let i = 0; i < iterations; i++) fn();
    best = Math.min(best, ((performance.now() - started) * 1e6) / iterations);
  }
  return best;
}

function compare(label: string, map: idl.core.LiteralMap, iterations: number): void {
  const expected = Buffer.from(toBinary(idl.core.LiteralMapSchema, map));
  if (!expected.equals(encodeLiteralMap(map))) throw new Error(`${label}: encodeLiteralMap differs from toBinary`);
  const fast = nsPerOp(iterations, () => encodeLiteralMap(map));
  const reference = nsPerOp(iterations, () => toBinary(idl.core.LiteralMapSchema, map));
  console.log(
    `${label.padEnd(34)} ${String(expected.length).padStart(5)} B   encodeLiteralMap ${fast.toFixed(0).padStart(6)} ns/op` +
      `   toBinary ${reference.toFixed(0).padStart(6)} ns/op   ×${(reference / fast).toFixed(1)}`,
  );
}

compare('{x: int}', toLiteralMap({ x: t.int() }, { x: 42 }), 200_000);

const mixedTypes = {
  i: t.int(),
  neg: t.int(),
  f: t.float(),
  s: t.string(),
  u: t.string(),
  b: t.boolean(),
  when: t.datetime(),
  took: t.duration(),
  xs: t.list(t.int()),
  m: t.map(t.string()),
};
const mixed = toLiteralMap(mixedTypes, {
  i: 7,
  neg: -3,
  f: 3.14,
  s: 'hello world',
  u: 'héllo 😀',
  b: true,
  when: new Date(1_700_000_000_123),
  took: 1500,
  xs: [1, 2, 3],
  m: { a: 'x', b: 'y' },
});
compare('10-entry mixed map', mixed, 50_000);
