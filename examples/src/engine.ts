// The helpers every example shares: an engine on the in-memory adapters (tests), a durable one on PostgreSQL
// (embedded PGlite or a server) and the local filesystem (the demo), and a way to run a workflow to its end.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fromLiteralMap, idl, type TypeMap, type ValuesOf, type WorkflowLike } from '@flyte-ts/core';
import {
  createEngine,
  type Engine,
  type EngineConfig,
  type ExecutionInputs,
  type FunctionTask,
} from '@flyte-ts/executor';
import { LocalFsBlobStore, MemoryBlobStore, MemoryCatalog, MemoryStore } from '@flyte-ts/store-memory';
import { createPgliteStore, createPostgresStore, type PostgresBackend } from '@flyte-ts/store-postgres';

/** Where the examples register their entities: Flyte's sandbox project, as flytekit's examples do. */
export const settings = { project: 'flytesnacks', domain: 'development', version: 'examples' } as const;

/** An engine on fresh in-memory adapters, started. Call `engine.stop()` when done. */
export async function startMemoryEngine(config: EngineConfig = {}): Promise<Engine> {
  const engine = createEngine({
    store: new MemoryStore(),
    blob: new MemoryBlobStore(),
    catalog: new MemoryCatalog(),
    // Retry at once: the examples' failures are deliberate, waiting between attempts would only slow them.
    config: { retryBackoff: { baseMs: 0, maxMs: 0 }, ...config },
  });
  await engine.start();
  return engine;
}

/** Options of {@link startDurableEngine}. */
export interface DurableEngineOptions {
  /** Directory of the engine's state: the PGlite database in `db/`, inputs and outputs in `data/`. */
  readonly dir: string;
  /** A PostgreSQL server (`postgres://user:password@host:5432/database`) instead of PGlite in `dir/db`. */
  readonly databaseUrl?: string | undefined;
  /** Task definitions to run, so that executions a killed process left unfinished resume at start. */
  readonly tasks?: readonly FunctionTask[];
  /** Engine settings (the prefixes are set to `dir/data`). */
  readonly config?: EngineConfig;
}

/** A started engine on durable adapters, and what it runs on. */
export interface DurableEngine {
  readonly engine: Engine;
  /** The Store, Catalog and ResourceManager the engine uses, and their database. */
  readonly backend: PostgresBackend;
  /** Where the records live, for people: the PGlite data directory, or the server's URL with its password masked. */
  readonly database: string;
  /** Where inputs and outputs live: a `file://` URI. */
  readonly dataUri: string;
  /** Stops the engine, then closes the database (idempotent). */
  close(): Promise<void>;
}

/**
 * An engine whose records survive the process: the Store, Catalog and ResourceManager of
 * `@flyte-ts/store-postgres` on embedded PGlite in `dir/db` (or on the server at `databaseUrl`, migrated on
 * open), and a local-filesystem BlobStore in `dir/data`. Started; call `close()` when done.
 */
export async function startDurableEngine(options: DurableEngineOptions): Promise<DurableEngine> {
  const dbDir = join(options.dir, 'db');
  const blob = new LocalFsBlobStore({ root: join(options.dir, 'data') });
  let backend: PostgresBackend;
  let database: string;
  if (options.databaseUrl === undefined) {
    await mkdir(dbDir, { recursive: true });
    backend = await createPgliteStore({ dataDir: dbDir });
    database = dbDir;
  } else {
    backend = await createPostgresStore({ connectionString: options.databaseUrl, migrate: true });
    database = withoutPassword(options.databaseUrl);
  }
  let engine: Engine | undefined;
  try {
    engine = createEngine({
      store: backend.store,
      blob,
      catalog: backend.catalog,
      resourceManager: backend.resourceManager,
      tasks: options.tasks ?? [],
      config: {
        retryBackoff: { baseMs: 0, maxMs: 0 },
        ...options.config,
        metadataPrefix: `${blob.rootUri}/metadata`,
        rawOutputPrefix: `${blob.rootUri}/raw`,
      },
    });
    await engine.start();
  } catch (error) {
    await engine?.stop();
    await backend.close();
    throw error;
  }
  const started = engine;
  let closed: Promise<void> | undefined;
  return {
    engine: started,
    backend,
    database,
    dataUri: blob.rootUri,
    close() {
      closed ??= (async () => {
        try {
          await started.stop();
        } finally {
          await backend.close();
        }
      })();
      return closed;
    },
  };
}

/** A connection string with its password masked, for printing. */
function withoutPassword(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    if (url.password !== '') url.password = '***';
    return url.href;
  } catch {
    return '(a connection string)';
  }
}

/** Executions of a workflow the engine's Store holds (every page), newest first. */
export async function listWorkflowExecutions(
  engine: Engine,
  workflow: { readonly name: string },
): Promise<idl.admin.Execution[]> {
  const executions: idl.admin.Execution[] = [];
  let token: string | undefined;
  do {
    const page = await engine.listExecutions({
      filters: [
        { fn: 'eq', field: 'project', values: [settings.project] },
        { fn: 'eq', field: 'domain', values: [settings.domain] },
        { fn: 'eq', field: 'workflow.name', values: [workflow.name] },
      ],
      limit: 1000,
      ...(token === undefined ? {} : { token }),
    });
    executions.push(...page.items);
    token = page.nextToken;
  } while (token !== undefined);
  return executions;
}

/**
 * A new execution name: `prefix-` and a time-based suffix (base 36 milliseconds, then 6 random characters), so
 * that runs of separate processes over one Store do not collide. Flyte's rule: lowercase, ≤ 63 characters, a letter
 * first (the prefix is shortened to fit).
 */
export function uniqueExecutionName(prefix: string): string {
  const suffix = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8).padEnd(6, '0')}`;
  return `${prefix.slice(0, 62 - suffix.length)}-${suffix}`;
}

/** The id of an execution of the examples' project and domain. */
export function executionId(name: string): idl.core.WorkflowExecutionIdentifier {
  return {
    $typeName: 'flyteidl.core.WorkflowExecutionIdentifier',
    project: settings.project,
    domain: settings.domain,
    name,
    org: '',
  };
}

/** The id of a node execution of an execution. */
export function nodeExecutionId(
  execution: idl.core.WorkflowExecutionIdentifier,
  nodeId: string,
): idl.core.NodeExecutionIdentifier {
  return { $typeName: 'flyteidl.core.NodeExecutionIdentifier', nodeId, executionId: execution };
}

/** How a run ended: the execution, its phase name, and its outputs when it succeeded. */
export interface RunResult<O extends TypeMap> {
  readonly id: idl.core.WorkflowExecutionIdentifier;
  readonly execution: idl.admin.Execution;
  readonly phase: string;
  readonly outputs: ValuesOf<O> | undefined;
}

/**
 * Runs a workflow (registered already) on the engine under `name` and waits for its end.
 * A failed run resolves too: its phase says so.
 */
export async function runToEnd<I extends TypeMap, O extends TypeMap>(
  engine: Engine,
  workflow: WorkflowLike<I, O>,
  name: string,
  inputs: ExecutionInputs = {},
): Promise<RunResult<O>> {
  const id = executionId(name);
  await engine.createExecution({ workflow: workflow.id(settings), name, inputs });
  const execution = await engine.waitForExecution(id);
  const phase = idl.core.WorkflowExecution_Phase[execution.closure?.phase ?? 0] ?? 'UNKNOWN';
  const outputs =
    phase === 'SUCCEEDED' ? fromLiteralMap(workflow.outputs, await engine.getExecutionOutputs(id)) : undefined;
  return { id, execution, phase, outputs };
}
