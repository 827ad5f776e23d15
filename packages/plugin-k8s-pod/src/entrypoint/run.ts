// `flyte-ts-execute`, the equivalent of flytekit's `pyflyte-execute`: what a pod of a TypeScript `task()` runs.
// It loads the task by module and name, reads inputs.pb from the blob store, runs the task, and writes
// outputs.pb — or error.pb, an ErrorDocument, and exits non-zero — under the output prefix.
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { idl, type BlobStore, type DataAccess, type DatasetCodec, type TaskRunContext } from '@flyte-ts/core';
import { EXECUTE_USAGE, ExecuteUsageError, parseExecuteArgs, type ExecuteArgs } from './args.js';
import { BlobStores, type ExecuteEnv } from './blob-stores.js';

/** What `flyte-ts-execute` needs of an exported task, which is any `task()` definition. */
export interface ExecutableTask {
  /** Always `task`. */
  readonly kind: 'task';
  /** The task's Flyte name. */
  readonly name: string;
  /** Runs the task on a LiteralMap of inputs. */
  execute(inputs: idl.core.LiteralMap, context: TaskRunContext): Promise<idl.core.LiteralMap>;
}

/** Options of {@link runExecute}. */
export interface RunExecuteOptions {
  /** The pod's environment (default `process.env`): `FLYTE_ATTEMPT_NUMBER`, `FLYTE_INTERNAL_EXECUTION_*`, stores. */
  readonly env?: ExecuteEnv;
  /** Aborted when the pod is stopped (the bin aborts it on SIGTERM and SIGINT). */
  readonly signal?: AbortSignal;
  /** The blob stores (default: by scheme, configured from `env`, and closed at the end). */
  readonly blobStores?: BlobStores;
  /** Where diagnostics go (default: standard error, which becomes the container's log). */
  readonly log?: (line: string) => void;
}

/** Exit code of a task that ran and failed (error.pb written). */
export const EXIT_TASK_FAILED = 1;
/** Exit code of a command line that cannot run. */
export const EXIT_USAGE = 2;
/** Exit code when no error document could be written either. */
export const EXIT_NO_ERROR_DOCUMENT = 3;

/** Error code of a task that is not found: its module does not load or does not export it. */
export const TASK_NOT_FOUND = 'SYSTEM:TaskNotFound';

/** A failure of the entrypoint, with the ErrorDocument fields it writes. */
class ExecuteFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly origin: idl.core.ExecutionError_ErrorKind,
    readonly recoverable: boolean,
  ) {
    super(message);
    this.name = 'ExecuteFailure';
  }
}

const SYSTEM = idl.core.ExecutionError_ErrorKind.SYSTEM;
const USER = idl.core.ExecutionError_ErrorKind.USER;

/**
 * Runs `flyte-ts-execute` with the arguments `argv` (without the program name) and resolves to the process's
 * exit code: 0 when outputs.pb was written; {@link EXIT_TASK_FAILED} when error.pb was written: code
 * `USER:<error name>`, origin USER, RECOVERABLE unless the error has `retryable: false` or `recoverable: false`
 * (so the task's retries apply, as they do in-process); a task its module does not export, or a module that does
 * not load, is {@link TASK_NOT_FOUND}, SYSTEM and NON_RECOVERABLE; inputs that cannot be read are SYSTEM and
 * RECOVERABLE. {@link EXIT_USAGE} for a bad command line (an error document too, when the output prefix is
 * known) and {@link EXIT_NO_ERROR_DOCUMENT} when not even error.pb could be written. Never throws.
 */
export async function runExecute(argv: readonly string[], options: RunExecuteOptions = {}): Promise<number> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const stores = options.blobStores ?? new BlobStores(env);
  try {
    return await run(argv, options, env, log, stores);
  } finally {
    if (options.blobStores === undefined) await stores.close();
  }
}

async function run(
  argv: readonly string[],
  options: RunExecuteOptions,
  env: ExecuteEnv,
  log: (line: string) => void,
  stores: BlobStores,
): Promise<number> {
  let args: ExecuteArgs;
  try {
    args = parseExecuteArgs(argv);
  } catch (error) {
    if (!(error instanceof ExecuteUsageError)) throw error;
    log(`flyte-ts-execute: ${error.message}\n${EXECUTE_USAGE}`);
    const prefix = outputPrefixIn(argv);
    if (prefix !== undefined) {
      const failure = new ExecuteFailure('SYSTEM:BadArguments', error.message, SYSTEM, false);
      if (!(await writeError(stores, prefix, failure, log))) return EXIT_NO_ERROR_DOCUMENT;
    }
    return EXIT_USAGE;
  }
  let workDir: string | undefined;
  try {
    const outputs = await execute(args, env, stores, options.signal ?? new AbortController().signal, (dir) => {
      workDir = dir;
    });
    const blob = await stores.for(args.outputPrefix);
    await blob.put(`${trimSlash(args.outputPrefix)}/outputs.pb`, toBinary(idl.core.LiteralMapSchema, outputs));
    return 0;
  } catch (error) {
    const failure = asFailure(error, options.signal);
    log(
      `flyte-ts-execute: task ${args.taskName} failed: ${failure.code}: ${failure.message}` +
        (error instanceof Error && error.stack !== undefined ? `\n${error.stack}` : ''),
    );
    return (await writeError(stores, args.outputPrefix, failure, log)) ? EXIT_TASK_FAILED : EXIT_NO_ERROR_DOCUMENT;
  } finally {
    if (workDir !== undefined) await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
  }
}

async function execute(
  args: ExecuteArgs,
  env: ExecuteEnv,
  stores: BlobStores,
  signal: AbortSignal,
  usedWorkDir: (dir: string) => void,
): Promise<idl.core.LiteralMap> {
  const task = await loadTask(args.taskModule, args.taskName);
  let inputs: idl.core.LiteralMap;
  try {
    const blob = await stores.for(args.inputs);
    inputs = fromBinary(idl.core.LiteralMapSchema, await blob.get(args.inputs, { signal }));
  } catch (error) {
    throw new ExecuteFailure(
      'SYSTEM:InputsNotReadable',
      `cannot read the inputs ${args.inputs}: ${error instanceof Error ? error.message : String(error)}`,
      SYSTEM,
      true,
    );
  }
  const blob: BlobStore = await stores.for(args.rawOutputDataPrefix);
  const dir = join(tmpdir(), `flyte-ts-execute-${process.pid}-${Date.now().toString(36)}`);
  const data: DataAccess = {
    blob,
    rawOutputPrefix: args.rawOutputDataPrefix,
    datasets: LAZY_DATASET_CODEC,
    signal,
    get workDir() {
      usedWorkDir(dir);
      return dir;
    },
  };
  const project = env['FLYTE_INTERNAL_EXECUTION_PROJECT'];
  const domain = env['FLYTE_INTERNAL_EXECUTION_DOMAIN'];
  const name = env['FLYTE_INTERNAL_EXECUTION_ID'];
  const execution =
    project === undefined || domain === undefined || name === undefined
      ? undefined
      : create(idl.core.WorkflowExecutionIdentifierSchema, { project, domain, name });
  const attempt = Number.parseInt(env['FLYTE_ATTEMPT_NUMBER'] ?? '0', 10);
  return task.execute(inputs, {
    signal,
    attempt: Number.isSafeInteger(attempt) && attempt >= 0 ? attempt : 0,
    execution,
    rawOutputPrefix: args.rawOutputDataPrefix,
    data,
  });
}

/** Imports `module` and finds the task named `name` among its exports (and its default export's members). */
async function loadTask(module: string | undefined, name: string): Promise<ExecutableTask> {
  if (module === undefined) {
    throw new ExecuteFailure(
      TASK_NOT_FOUND,
      `task ${name} names no module: define it with module (e.g. import.meta.url) so a container can load it`,
      SYSTEM,
      false,
    );
  }
  let namespace: Record<string, unknown>;
  try {
    namespace = (await import(moduleSpecifier(module))) as Record<string, unknown>;
  } catch (error) {
    throw new ExecuteFailure(
      TASK_NOT_FOUND,
      `module ${module} of task ${name} does not load: ${error instanceof Error ? error.message : String(error)}`,
      SYSTEM,
      false,
    );
  }
  const candidates = Object.values(namespace);
  const fallback = namespace['default'];
  if (fallback !== null && typeof fallback === 'object') candidates.push(...Object.values(fallback));
  const task = candidates.find(
    (value): value is ExecutableTask =>
      value !== null &&
      (typeof value === 'function' || typeof value === 'object') &&
      (value as Partial<ExecutableTask>).kind === 'task' &&
      (value as Partial<ExecutableTask>).name === name &&
      typeof (value as Partial<ExecutableTask>).execute === 'function',
  );
  if (task === undefined) {
    throw new ExecuteFailure(TASK_NOT_FOUND, `module ${module} does not export task ${name}`, SYSTEM, false);
  }
  return task;
}

/** Paths become file URLs (relative ones from the working directory); URLs and package names stay. */
function moduleSpecifier(module: string): string {
  if (/^[a-z][a-z0-9+.-]+:/i.test(module)) return module;
  if (isAbsolute(module) || module.startsWith('.')) return pathToFileURL(resolve(module)).href;
  return module;
}

function asFailure(error: unknown, signal: AbortSignal | undefined): ExecuteFailure {
  if (error instanceof ExecuteFailure) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (signal?.aborted === true) return new ExecuteFailure('SYSTEM:Aborted', message, SYSTEM, true);
  const name = error instanceof Error && error.name !== '' ? error.name : 'Error';
  const says =
    typeof error === 'object' && error !== null ? (error as { retryable?: unknown; recoverable?: unknown }) : {};
  const recoverable = says.retryable !== false && says.recoverable !== false;
  return new ExecuteFailure(`USER:${name}`, message, USER, recoverable);
}

async function writeError(
  stores: BlobStores,
  outputPrefix: string,
  failure: ExecuteFailure,
  log: (line: string) => void,
): Promise<boolean> {
  const document = create(idl.core.ErrorDocumentSchema, {
    error: {
      code: failure.code,
      message: failure.message,
      kind: failure.recoverable
        ? idl.core.ContainerError_Kind.RECOVERABLE
        : idl.core.ContainerError_Kind.NON_RECOVERABLE,
      origin: failure.origin,
    },
  });
  const uri = `${trimSlash(outputPrefix)}/error.pb`;
  try {
    const blob = await stores.for(uri);
    await blob.put(uri, toBinary(idl.core.ErrorDocumentSchema, document));
    return true;
  } catch (error) {
    log(`flyte-ts-execute: cannot write ${uri}: ${error instanceof Error ? error.message : String(error)}`);
    return false;
  }
}

function outputPrefixIn(argv: readonly string[]): string | undefined {
  for (let at = 0; at < argv.length && argv[at] !== '--'; at++) {
    const arg = argv[at]!;
    if (arg === '--output-prefix' && (argv[at + 1] ?? '') !== '') return argv[at + 1];
    if (arg.startsWith('--output-prefix=') && arg.length > '--output-prefix='.length) {
      return arg.slice('--output-prefix='.length);
    }
  }
  return undefined;
}

function trimSlash(prefix: string): string {
  return prefix.replace(/\/+$/, '');
}

let codec: Promise<DatasetCodec> | undefined;

/**
 * Structured datasets read and write through the engine's codec (`DATASET_CODEC` of `@flyte-ts/executor`, an
 * optional peer dependency), loaded the first time a task uses a dataset's rows.
 */
async function datasetCodec(): Promise<DatasetCodec> {
  codec ??= import('@flyte-ts/executor').then(
    (executor) => executor.DATASET_CODEC,
    (error: unknown) => {
      codec = undefined;
      throw new Error(
        `reading or writing dataset rows needs the package @flyte-ts/executor in the image (${error instanceof Error ? error.message : String(error)})`,
      );
    },
  );
  return codec;
}

const LAZY_DATASET_CODEC: DatasetCodec = {
  async write(...args) {
    return (await datasetCodec()).write(...args);
  },
  async read(...args) {
    return (await datasetCodec()).read(...args);
  },
  async *readRows(...args) {
    yield* (await datasetCodec()).readRows(...args);
  },
};
