// Test support: an engine whose blobs live on the local filesystem (so pod processes share them) and a fake API
// server whose pods run the container program as local processes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TaskPlugin } from '@flyte-ts/core';
import { createEngine, type Engine } from '@flyte-ts/executor';
import { LocalFsBlobStore, MemoryCatalog, MemoryStore } from '@flyte-ts/store-memory';
import type { FakeApiServerOptions } from './fake-apiserver.js';

export const settings = { project: 'flytesnacks', domain: 'development', version: 'v1' } as const;
export const NAMESPACE = 'flytesnacks-development';

const program = fileURLToPath(new URL('./container-program.ts', import.meta.url));

/** Options that make `flyte-ts-execute` in a pod run the container program. */
export function processOptions(): FakeApiServerOptions {
  return {
    runProcesses: true,
    binaries: { 'flyte-ts-execute': [process.execPath, '--conditions=@flyte-ts/source', '--import', 'tsx', program] },
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
  };
}

/** A temporary directory and a filesystem blob store in it. */
export function tempBlob(): { dir: string; blob: LocalFsBlobStore; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'flyte-k8s-'));
  const blob = new LocalFsBlobStore({ root: join(dir, 'blobs') });
  return { dir, blob, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A started engine on a memory store and the given blob store. */
export async function startEngine(
  blob: LocalFsBlobStore,
  plugins: readonly TaskPlugin[],
  store = new MemoryStore(),
): Promise<Engine> {
  const engine = createEngine({
    store,
    blob,
    catalog: new MemoryCatalog(),
    plugins,
    config: {
      metadataPrefix: `${blob.rootUri}/metadata`,
      rawOutputPrefix: `${blob.rootUri}/raw`,
      retryBackoff: { baseMs: 0, maxMs: 0 },
      pollInterval: { baseMs: 50, maxMs: 500 },
    },
  });
  await engine.start();
  return engine;
}
