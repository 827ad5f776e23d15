// A local S3 for tests, examples and demos: s3rver in a child process on 127.0.0.1. The child runs with
// `--openssl-legacy-provider` (s3rver's continuation tokens use DES, which OpenSSL 3 keeps in its legacy
// provider: without it, paginated listings fail with 500), so the caller's process needs no special flag. It also
// corrects s3rver's listing order to S3's (see CHILD).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Options of {@link startS3rver}. */
export interface S3rverOptions {
  /** Buckets to create before it serves (default: none). */
  readonly buckets?: readonly string[] | undefined;
  /** Port on 127.0.0.1 (default 0: a free one). */
  readonly port?: number | undefined;
  /**
   * Directory s3rver keeps objects in; kept on close (a demo's data survives restarts). Default: a new
   * temporary directory, removed on close.
   */
  readonly directory?: string | undefined;
  /** Milliseconds to wait for the server to listen (default 20,000). */
  readonly startTimeoutMs?: number | undefined;
}

/** A running s3rver. */
export interface S3rverHandle {
  /** Its URL, `http://127.0.0.1:<port>`: the `endpoint` of an S3BlobStore or S3Client. */
  readonly endpoint: string;
  /** The port it listens on. */
  readonly port: number;
  /** The region to sign for (s3rver accepts any; this is the one S3BlobStore assumes with an endpoint). */
  readonly region: string;
  /** The credentials s3rver accepts (its fixed `S3RVER` key pair). */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** The buckets created at start. */
  readonly buckets: readonly string[];
  /** Where the objects are kept. */
  readonly directory: string;
  /** Stops the server and waits for its process to end; removes the directory unless it was given. Idempotent. */
  close(): Promise<void>;
}

// The child: CommonJS run by `node -e`, given its configuration as a JSON argument. It exits when its stdin closes,
// so a parent that dies without closing it (a killed test worker) takes the server with it.
// s3rver lists keys in the order of its files on disk (`a-z._S3rver_object` before `a._S3rver_object`), so
// `a-z` came before `a`; S3 lists in the byte order of the UTF-8 keys. The child re-sorts each listing (and
// applies start-after and max-keys to the sorted keys) so that s3rver pages like S3. s3rver also deletes the
// objects of a DeleteObjects request concurrently, each then removing its directory if empty: two racing on the
// last objects of a directory failed the batch with 500. The child lets a directory already removed, or no longer
// empty, end that clean-up quietly.
const CHILD = `
const path = require('node:path');
const config = JSON.parse(process.argv[1]);
const S3rver = require(config.module);
const FilesystemStore = require(path.join(path.dirname(config.module), 'stores', 'filesystem.js'));
const listObjects = FilesystemStore.prototype.listObjects;
const byteOrder = (a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
FilesystemStore.prototype.listObjects = async function (bucket, options) {
  const all = await listObjects.call(this, bucket, { ...options, startAfter: '', maxKeys: Infinity });
  const startAfter = options.startAfter || '';
  const maxKeys = options.maxKeys === undefined ? Infinity : options.maxKeys;
  const objects = all.objects.filter((o) => byteOrder(o.key, startAfter) > 0).sort((a, b) => byteOrder(a.key, b.key));
  return { ...all, objects: objects.slice(0, maxKeys), isTruncated: objects.length > maxKeys };
};
const deleteObject = FilesystemStore.prototype.deleteObject;
FilesystemStore.prototype.deleteObject = function (bucket, key) {
  return deleteObject.call(this, bucket, key).catch((error) => {
    if (error && (error.code === 'ENOENT' || error.code === 'ENOTEMPTY')) return;
    throw error;
  });
};
const server = new S3rver({
  address: '127.0.0.1',
  port: config.port,
  silent: true,
  directory: config.directory,
  configureBuckets: config.buckets.map((name) => ({ name })),
});
let closing = false;
function stop() {
  if (closing) return;
  closing = true;
  server.close().catch(() => undefined).finally(() => {
    // A temporary directory goes with the server, even when the parent died without closing it.
    if (config.removeDirectory) require('node:fs').rmSync(config.directory, { recursive: true, force: true });
    process.exit(0);
  });
}
server.run().then(
  (address) => process.stdout.write(JSON.stringify({ port: address.port }) + '\\n'),
  (error) => {
    process.stderr.write(String(error && error.stack || error) + '\\n');
    process.exit(1);
  },
);
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
`;

/**
 * Starts s3rver (the `s3rver` package, which must be installed: it is an optional peer dependency of
 * `@flyte-ts/blob-s3`) in a child process on 127.0.0.1, with `buckets` created, and resolves once it listens.
 * Call `close()` when done.
 */
export async function startS3rver(options: S3rverOptions = {}): Promise<S3rverHandle> {
  const module = resolveS3rver();
  const buckets = [...(options.buckets ?? [])];
  const ownDirectory = options.directory === undefined;
  const directory = options.directory ?? (await mkdtemp(join(tmpdir(), 'flyte-ts-s3rver-')));
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const child = spawn(
    process.execPath,
    [
      '--openssl-legacy-provider',
      '-e',
      CHILD,
      JSON.stringify({ module, port: options.port ?? 0, directory, buckets, removeDirectory: ownDirectory }),
    ],
    { stdio: ['pipe', 'pipe', 'pipe'], env },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => {
    stderr = (stderr + text).slice(-4000);
  });
  let port: number;
  try {
    port = await readPort(child, options.startTimeoutMs ?? 20_000, () => stderr);
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    if (ownDirectory) await rm(directory, { recursive: true, force: true });
    throw error;
  }
  let closed: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    buckets,
    directory,
    close: () =>
      (closed ??= (async () => {
        child.stdin!.end();
        const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(killer);
        if (ownDirectory) await rm(directory, { recursive: true, force: true });
      })()),
  };
}

/** The path of s3rver's entry, resolved from this package (where it is a peer dependency). */
function resolveS3rver(): string {
  try {
    return createRequire(import.meta.url).resolve('s3rver');
  } catch (error) {
    throw new Error('startS3rver needs the s3rver package: npm install --save-dev s3rver', { cause: error });
  }
}

/** Waits for the child's first stdout line, `{"port":N}`. */
function readPort(child: ChildProcess, timeoutMs: number, stderr: () => string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let out = '';
    const fail = (why: string) => {
      cleanup();
      reject(new Error(`s3rver did not start: ${why}${stderr() === '' ? '' : `\n${stderr()}`}`));
    };
    const onData = (text: string) => {
      out += text;
      const newline = out.indexOf('\n');
      if (newline < 0) return;
      cleanup();
      try {
        const { port } = JSON.parse(out.slice(0, newline)) as { port: number };
        resolve(port);
      } catch {
        reject(new Error(`s3rver printed ${JSON.stringify(out.slice(0, newline))}, not its port`));
      }
    };
    const onExit = (code: number | null) => fail(`its process exited (${String(code)})`);
    const timer = setTimeout(() => fail(`no port after ${timeoutMs} ms`), timeoutMs);
    function cleanup() {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
    }
    child.stdout!.setEncoding('utf8').on('data', onData);
    child.once('exit', onExit);
  });
}
