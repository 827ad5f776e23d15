// `npm run bench` (blob-s3): streamed round trips through S3BlobStore against s3rver (a child process on
// 127.0.0.1, so its memory is not ours). For each size (50, 200 and 500 MB; BENCH_SIZES_MB=50,200 overrides) it
// uploads a stream of 1 MiB chunks generated on the fly (never held whole), downloads it with getStream, checks the
// SHA-256 of what came back against what went up, and prints MB/s each way and this process's peak memory during
// each transfer (sampled every 20 ms, after a full collection). Memory that does not grow with the size is the
// point: an upload holds about partSize × (queueSize + 1) bytes live, a download one socket's buffers; the peaks
// also count garbage V8 has not collected yet, which levels off. Figures are printed, never asserted.
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { S3BlobStore } from '../src/index.js';
import { startS3rver } from '../src/testing/index.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const MB = 1_000_000;
const MiB = 1024 * 1024;
const CHUNK = MiB;
const SIZES_MB = (process.env.BENCH_SIZES_MB ?? '50,200,500').split(',').map((size) => Number(size.trim()));
const BUCKET = 'bench';

// A full collection before each transfer, so that each starts from what is live, not from the last one's garbage.
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

/** Peak memory of this process while `work` runs. */
async function sampled<T>(work: () => Promise<T>): Promise<{ result: T; peak: Memory; ms: number }> {
  const peak: Memory = { rss: 0, heapUsed: 0, buffers: 0, live: [] };
  const sample = () => {
    const usage = process.memoryUsage();
    peak.rss = Math.max(peak.rss, usage.rss);
    peak.heapUsed = Math.max(peak.heapUsed, usage.heapUsed);
    peak.buffers = Math.max(peak.buffers, usage.arrayBuffers);
  };
  collect();
  live = [];
  const timer = setInterval(sample, 20);
  const started = performance.now();
  try {
    const result = await work();
    sample();
    peak.live = live;
    return { result, peak, ms: performance.now() - started };
  } finally {
    clearInterval(timer);
  }
}

interface Memory {
  rss: number;
  heapUsed: number;
  /** ArrayBuffers and Buffers (outside the JS heap): where upload parts and socket chunks live. */
  buffers: number;
  /** Heap + buffers found live by full collections at LIVE_SAMPLES points of the transfer. */
  live: number[];
}

/** Full collections per transfer, evenly spaced, to measure what is live (the same number whatever the size). */
const LIVE_SAMPLES = 10;
let live: number[] = [];

/** Bytes between two live measurements of a transfer of `size` bytes (a whole number of chunks). */
function liveEvery(size: number): number {
  return Math.max(CHUNK, Math.floor(size / LIVE_SAMPLES / CHUNK) * CHUNK);
}

/** Collects garbage and records what is still live. */
function measureLive(): void {
  collect();
  const usage = process.memoryUsage();
  live.push(usage.heapUsed + usage.arrayBuffers);
}

/** `size` bytes as 1 MiB chunks, each a fresh buffer of pseudo-random bytes; hashes what it yields. */
function generated(size: number, hash: ReturnType<typeof createHash>): AsyncIterable<Uint8Array> {
  const base = new Uint8Array(CHUNK);
  let x = 0x9e3779b9;
  for (let i = 0; i < CHUNK; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    base[i] = x & 0xff;
    base[i + 1] = (x >>> 8) & 0xff;
    base[i + 2] = (x >>> 16) & 0xff;
    base[i + 3] = (x >>> 24) & 0xff;
  }
  const every = liveEvery(size);
  return (async function* () {
    for (let offset = 0, index = 0; offset < size; offset += CHUNK, index++) {
      const chunk = base.slice(0, Math.min(CHUNK, size - offset));
      new DataView(chunk.buffer).setUint32(0, index); // every chunk differs
      hash.update(chunk);
      if (offset > 0 && offset % every === 0) measureLive();
      yield chunk;
    }
  })();
}

const mb = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`;
/** Median and largest of some byte counts, `12/30 MiB`. */
const medianMax = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor((sorted.length - 1) / 2)] ?? 0;
  return `${(median / MiB).toFixed(0)}/${mb(sorted[sorted.length - 1] ?? 0)}`;
};
const pad = (text: string, width: number) => text.padStart(width);

async function main(): Promise<void> {
  const server = await startS3rver({ buckets: [BUCKET] });
  const store = new S3BlobStore({ endpoint: server.endpoint, credentials: server.credentials, buckets: [BUCKET] });
  const idle = process.memoryUsage();
  console.log(
    `S3BlobStore round trips against s3rver (${server.endpoint}); part size ${mb(8 * MiB)}, 4 parts in flight, ` +
      `${mb(CHUNK)} chunks`,
  );
  console.log(`idle: rss ${mb(idle.rss)}, heap ${mb(idle.heapUsed)}, buffers ${mb(idle.arrayBuffers)}\n`);
  console.log(
    `${pad('', 8)} | ${pad('', 8)} | ${pad('', 9)} | ${'upload: peaks, live median/max'.padEnd(39)} | ` +
      `${'download: peaks, live median/max'.padEnd(39)} |`,
  );
  console.log(
    `${pad('size', 8)} | ${pad('up MB/s', 8)} | ${pad('down MB/s', 9)} | ` +
      `${pad('rss', 8)} ${pad('heap', 7)} ${pad('buffers', 8)} ${pad('live', 13)} | ` +
      `${pad('rss', 8)} ${pad('heap', 7)} ${pad('buffers', 8)} ${pad('live', 13)} | sha-256`,
  );
  try {
    for (const sizeMb of SIZES_MB) {
      const size = sizeMb * MB;
      const uri = `s3://${BUCKET}/bench/${sizeMb}mb.bin`;
      const sent = createHash('sha256');
      const up = await sampled(() => store.put(uri, generated(size, sent)));
      if (up.result.size !== size) throw new Error(`stored ${up.result.size} bytes, sent ${size}`);
      const down = await sampled(async () => {
        const received = createHash('sha256');
        let bytes = 0;
        const every = liveEvery(size);
        let next = every;
        for await (const chunk of await store.getStream(uri)) {
          received.update(chunk);
          bytes += chunk.byteLength;
          if (bytes >= next) {
            measureLive();
            next += every;
          }
        }
        return { hash: received.digest('hex'), bytes };
      });
      const expected = sent.digest('hex');
      const same = down.result.hash === expected && down.result.bytes === size;
      const memory = (m: Memory) =>
        `${pad(mb(m.rss), 8)} ${pad(mb(m.heapUsed), 7)} ${pad(mb(m.buffers), 8)} ${pad(medianMax(m.live), 13)}`;
      console.log(
        `${pad(`${sizeMb} MB`, 8)} | ${pad((size / MB / (up.ms / 1000)).toFixed(1), 8)} | ` +
          `${pad((size / MB / (down.ms / 1000)).toFixed(1), 9)} | ${memory(up.peak)} | ${memory(down.peak)} | ` +
          `${same ? 'match' : `MISMATCH (${down.result.bytes} bytes)`}`,
      );
      await store.delete(uri);
      if (!same) process.exitCode = 1;
    }
  } finally {
    store.destroy();
    await server.close();
  }
  console.log(
    [
      '',
      'MB/s are 10^6 bytes per second through s3rver on this machine (s3rver writes to disk and computes MD5s, so it',
      `bounds both; the live measurements pause each transfer for ${LIVE_SAMPLES} full GCs). Peaks are of this process:`,
      'rss, heap and buffers (ArrayBuffers outside the heap) sampled every 20 ms, garbage included; live = heap +',
      'buffers left after a full GC (median and largest of the samples). Live memory that stays flat across sizes is',
      'the point: an upload holds about partSize x (queueSize + 1) bytes, a download what one socket has buffered.',
    ].join('\n'),
  );
}

await main();
