// `npm run bench` (core): throughput of literal conversion, cache-key hashing and DSL serialization.
// Prints figures; asserts nothing (speed is measured here, never in tests).
import { performance } from 'node:perf_hooks';
import { cacheTag, serialize, t, task, toLiteralMap, workflow, type OutputPromise } from '../src/index.js';

function measure(label: string, iterations: number, fn: () => unknown): void {
  fn(); // warm up
  const started = performance.now();
  for (let i = 0; i < iterations; i++) fn();
  const ms = (performance.now() - started) / iterations;
  console.log(`${label.padEnd(58)} ${ms.toFixed(2).padStart(9)} ms/op`);
}

const floats = Array.from({ length: 100_000 }, (_, i) => i * 0.5);
const listType = t.list(t.float());
const listLiteral = listType.toLiteral(floats);
measure('toLiteral list<float> (100k elements)', 10, () => listType.toLiteral(floats));
measure('fromLiteral list<float> (100k elements)', 10, () => listType.fromLiteral(listLiteral));

const record = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`k${i}`, { n: i, tags: ['a', 'b'] }]));
const mapType = t.map(t.struct());
const inputs = toLiteralMap({ m: mapType }, { m: record });
measure('toLiteral map<string, struct> (10k entries)', 10, () => mapType.toLiteral(record));
measure('cacheTag of a 10k-entry map input', 10, () => cacheTag(inputs));
const small = toLiteralMap({ a: t.int(), b: t.string(), c: t.list(t.float()) }, { a: 1, b: 'x', c: [1, 2, 3] });
measure('cacheTag of a 3-input map (typical task)', 2000, () => cacheTag(small));

const step = task({ name: 'bench.step', inputs: { x: t.int() }, outputs: { x: t.int() } }, ({ x }) => ({ x: x + 1 }));
for (const size of [1_000, 10_000]) {
  measure(`define + serialize a chain workflow of ${size} nodes`, 3, () => {
    const wf = workflow({ name: `bench.chain${size}`, inputs: { x: t.int() }, outputs: { x: t.int() } }, ({ x }) => {
      let current: OutputPromise<number, 'integer'> = x;
      for (let i = 0; i < size; i++) current = step({ x: current }).x;
      return { x: current };
    });
    return serialize([wf]);
  });
}
