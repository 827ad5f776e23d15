// `npm run bench` (store-memory): the cost of LocalFsBlobStore's confinement on small objects. For each
// confinement (`descriptor`: open, then check the descriptor through /proc/self/fd; `path`: check, then use) it
// puts, gets, heads, streams and deletes BENCH_OBJECTS (default 500) objects of 100 bytes spread over 10
// directories, one operation at a time, and prints the median microseconds per operation over BENCH_ROUNDS
// (default 5) rounds, the confinements taking turns so that a busy machine slows both alike: wall time, and the
// CPU time of the process (all threads: the syscalls run on libuv's pool), which a busy machine disturbs less.
// A put includes its fsync, which dominates its wall time. Figures are printed, never asserted.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { LocalFsBlobStore, type LocalFsConfinement } from '../src/index.js';

const OBJECTS = Number(process.env.BENCH_OBJECTS ?? 500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const MODES: LocalFsConfinement[] = process.platform === 'linux' ? ['descriptor', 'path'] : ['path'];
const OPERATIONS = ['put', 'get', 'head', 'getStream', 'delete'] as const;
type Operation = (typeof OPERATIONS)[number];

interface Cost {
  wall: number;
  cpu: number;
}

async function round(mode: LocalFsConfinement): Promise<Record<Operation, Cost>> {
  const dir = await mkdtemp(join(tmpdir(), 'flyte-ts-fs-bench-'));
  try {
    const store = new LocalFsBlobStore({ root: dir, confinement: mode });
    const body = new Uint8Array(100).fill(1);
    const uris = Array.from({ length: OBJECTS }, (_, i) => `${store.rootUri}/d${i % 10}/o${i}`);
    await store.put(`${store.rootUri}/warm`, body);
    const run: Record<Operation, (uri: string) => Promise<unknown>> = {
      put: (uri) => store.put(uri, body),
      get: (uri) => store.get(uri),
      head: (uri) => store.head(uri),
      getStream: async (uri) => {
        for await (const chunk of await store.getStream(uri)) void chunk;
      },
      delete: (uri) => store.delete(uri),
    };
    const costs = {} as Record<Operation, Cost>;
    for (const operation of OPERATIONS) {
      const started = performance.now();
      const cpu = process.cpuUsage();
      for (const uri of uris) await run[operation](uri);
      const used = process.cpuUsage(cpu);
      costs[operation] = {
        wall: ((performance.now() - started) * 1000) / uris.length,
        cpu: (used.user + used.system) / uris.length,
      };
    }
    return costs;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const results = new Map(MODES.map((mode) => [mode, [] as Record<Operation, Cost>[]]));
for (let i = 0; i < ROUNDS; i++) {
  for (const mode of MODES) results.get(mode)!.push(await round(mode));
}
console.log(`LocalFsBlobStore, ${OBJECTS} objects of 100 B, median µs per operation over ${ROUNDS} rounds`);
console.log(['', ...OPERATIONS].map((cell) => cell.padStart(12)).join(''));
for (const [mode, rounds] of results) {
  for (const cost of ['wall', 'cpu'] as const) {
    const cells = OPERATIONS.map((operation) => median(rounds.map((r) => r[operation][cost])).toFixed(0));
    console.log([`${mode} ${cost}`, ...cells].map((cell) => cell.padStart(12)).join(''));
  }
}
