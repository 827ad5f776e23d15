// Test support: an engine whose blobs live on the local filesystem (so pod processes share them) and a fake API
// server whose pods run the container program as local processes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { create } from '@bufbuild/protobuf';
import { idl, type ResourceManager, type TaskPlugin } from '@flyte-ts/core';
import { createEngine, type Engine } from '@flyte-ts/executor';
import { LocalFsBlobStore, MemoryCatalog, MemoryStore } from '@flyte-ts/store-memory';
import { createPodPlugin, type PodPluginOptions } from '../../src/index.js';
import { flyteTsExecuteCommand, startFakeApiServer, type FakeApiServer } from '../../src/testing/index.js';
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

/** A started engine on a memory store (or `store`) and the given blob store, with an optional quota manager. */
export async function startEngine(
  blob: LocalFsBlobStore,
  plugins: readonly TaskPlugin[],
  store = new MemoryStore(),
  resourceManager?: ResourceManager,
): Promise<Engine> {
  const engine = createEngine({
    store,
    blob,
    catalog: new MemoryCatalog(),
    plugins,
    ...(resourceManager === undefined ? {} : { resourceManager }),
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

/** Work to undo after a test, last first. */
export type Cleanups = (() => Promise<void> | void)[];

/**
 * A fake cluster whose pods run the real `flyte-ts-execute` (from sources) as local processes, a pod plugin on it
 * (with `options` added) and a started engine on a filesystem blob store; what to undo is pushed to `cleanups`.
 */
export async function startPodCluster(
  cleanups: Cleanups,
  options: Partial<PodPluginOptions> = {},
): Promise<{ fake: FakeApiServer; engine: Engine; blob: LocalFsBlobStore }> {
  const fake = await startFakeApiServer({
    runProcesses: true,
    binaries: { 'flyte-ts-execute': flyteTsExecuteCommand() },
  });
  cleanups.push(() => fake.close());
  const { blob, cleanup } = tempBlob();
  cleanups.push(cleanup);
  const plugin = createPodPlugin({
    clusters: [{ name: 'local', kubeConfig: fake.kubeConfig() }],
    pollMs: 100,
    ...options,
  });
  cleanups.push(() => plugin.close());
  const engine = await startEngine(blob, [plugin]);
  cleanups.push(() => engine.stop());
  return { fake, engine, blob };
}

/** An execution id in the test project. */
export function execId(name: string): idl.core.WorkflowExecutionIdentifier {
  return create(idl.core.WorkflowExecutionIdentifierSchema, {
    project: settings.project,
    domain: settings.domain,
    name,
  });
}
