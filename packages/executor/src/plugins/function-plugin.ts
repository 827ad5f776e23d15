// The in-process function-task plugin: runs the functions of `task()` definitions in this process. A task that
// finishes at once completes in the same `handle`; a longer one runs in the background and asks the engine to
// look again when done. After an engine restart the function's run is gone: the attempt fails as a system
// error and is retried (at-least-once), which the task execution attempts show.
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toBinary } from '@bufbuild/protobuf';
import {
  FUNCTION_TASK_TYPE,
  idl,
  type DataAccess,
  type DynamicTaskDefinition,
  type Entity,
  type PluginTransition,
  type TaskContext,
  type TaskDefinition,
  type TaskPlugin,
  type TaskRunContext,
  type TypeMap,
} from '@flyte-ts/core';
import { DATASET_CODEC } from '../data/codec.js';
import { NodeFailure } from '../runtime/failure.js';
import { Limiter } from '../runtime/limiter.js';
import { WorkerCrashError, WorkerLoadError, WorkerPool, type WorkerPoolOptions } from './worker-pool.js';

/**
 * What the plugin needs of a task definition, which is any `task()` or `dynamic()` definition, whatever its input and
 * output types (those are checked where the task is defined and called, not here).
 */
export interface FunctionTask {
  /** Always `task`. */
  readonly kind: 'task';
  /** The task's Flyte name. */
  readonly name: string;
  /** Where and how it runs. */
  readonly config: { readonly worker?: boolean | undefined; readonly module?: string | undefined };
  /** Runs the function on an input LiteralMap. */
  execute(inputs: idl.core.LiteralMap, context: TaskRunContext): Promise<idl.core.LiteralMap>;
}

/** Options of the function-task plugin. */
export interface FunctionPluginOptions {
  /** Task definitions it can run (more can be added with `add`). */
  readonly tasks?: readonly FunctionTask[];
  /** Largest number of task functions running at once (default 256). */
  readonly concurrency?: number;
  /** Worker threads for tasks defined with `worker: true` (created on first use; defaults apply when omitted). */
  readonly workers?: WorkerPoolOptions;
}

/** Plugin state: the attempt's function was started. */
type FunctionState = { readonly started: true };

interface Running {
  /**
   * The attempt's signal when the function started (the engine aborts it before calling `abort`). A runner that
   * resumes the execution in this process after a commit conflict keeps the attempt's signal, so aborting it there
   * reaches the function too.
   */
  readonly signal: AbortSignal;
  /**
   * The context of the attempt's latest `handle`. A runner that resumes the execution in this process (after a
   * commit conflict) adopts a function still in flight: its outputs and its end go to that runner, not to the
   * stopped runner that started it.
   */
  ctx: TaskContext<FunctionState>;
  done: boolean;
  /** What the function returned, written through the context of the `handle` that sees it done. */
  outputs?: idl.core.LiteralMap;
  error?: unknown;
  /** `abort` was called for the attempt. */
  abandoned?: boolean;
}

let workRoot: string | undefined;

/** Where an attempt's downloads go (removed when the attempt is finalized). */
function workDirOf(generatedName: string): string {
  workRoot ??= join(tmpdir(), `flyte-ts-${process.pid}`);
  return join(workRoot, generatedName);
}

/** The data access of one attempt: its work directory is noted (for removal) when a download first asks for it. */
class AttemptData implements DataAccess {
  readonly datasets = DATASET_CODEC;

  constructor(
    readonly blob: DataAccess['blob'],
    readonly rawOutputPrefix: string,
    readonly signal: AbortSignal,
    private readonly name: string,
    private readonly workDirs: Set<string>,
  ) {}

  get workDir(): string {
    this.workDirs.add(this.name);
    return workDirOf(this.name);
  }
}

/** How long a background function may go unobserved before the engine looks (it is told when it ends). */
const RECHECK_MS = 60 * 60 * 1000;

/** Runs `task()` functions in this process (task type `typescript-task`). */
export class FunctionTaskPlugin implements TaskPlugin<FunctionState> {
  /** @inheritDoc */
  readonly id = 'function';
  /** @inheritDoc */
  readonly taskTypes: readonly string[] = [FUNCTION_TASK_TYPE];
  private readonly tasks = new Map<string, FunctionTask>();
  private readonly running = new Map<string, Running>();
  /** Attempts whose work directory was asked for (and may hold downloads). */
  private readonly workDirs = new Set<string>();
  private readonly queue: Limiter;
  private readonly workerOptions: WorkerPoolOptions;
  private pool: WorkerPool | undefined;

  /** @param options tasks, concurrency and worker threads */
  constructor(options: FunctionPluginOptions = {}) {
    this.queue = new Limiter(options.concurrency ?? 256, 'FunctionTaskPlugin concurrency');
    this.workerOptions = options.workers ?? {};
    for (const task of options.tasks ?? []) this.add(task);
  }

  /** Worker threads alive now (tasks defined with `worker: true` run on them). */
  get workerThreads(): number {
    return this.pool?.threads ?? 0;
  }

  /**
   * Terminates the worker threads; attempts running on them fail as system errors and are retried. The plugin
   * stays usable: the next `worker: true` task starts new threads.
   */
  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.close();
  }

  /** Makes task definitions runnable, by task name (the latest added wins). */
  add(...tasks: readonly FunctionTask[]): void {
    for (const task of tasks) this.tasks.set(task.name, task);
  }

  /**
   * Makes a task definition runnable for one registered version (`name@version`), so that two versions of a
   * task in one process each run their own function.
   */
  addVersion(version: string, task: FunctionTask): void {
    this.tasks.set(`${task.name}@${version}`, task);
    if (!this.tasks.has(task.name)) this.tasks.set(task.name, task);
  }

  /** Whether a task of that name can run here. */
  has(name: string): boolean {
    return this.tasks.has(name);
  }

  /** @inheritDoc */
  async handle(ctx: TaskContext<FunctionState>): Promise<PluginTransition<FunctionState>> {
    const key = ctx.metadata.generatedName;
    let run = this.running.get(key);
    if (run === undefined) {
      if (ctx.state?.started === true) {
        return {
          phase: 'retryable-failure',
          error: {
            code: 'TaskLost',
            message: 'the process running this attempt stopped before it ended; the task runs again',
            kind: 'system',
          },
        };
      }
      const name = ctx.template.id?.name ?? '';
      const definition = this.tasks.get(`${name}@${ctx.template.id?.version ?? ''}`) ?? this.tasks.get(name);
      if (definition === undefined) {
        return {
          phase: 'permanent-failure',
          error: {
            code: 'FunctionNotFound',
            message: `task ${name} is not loaded in this process: pass its definition to the engine (register it, or FunctionTaskPlugin({ tasks }))`,
            kind: 'system',
          },
        };
      }
      const started = this.start(ctx, definition);
      run = started.run;
      // A function that ends at once (within this turn of the event loop) completes in this call: no extra round
      // trip, and the node's start and end are committed together.
      await new Promise<void>((resolve) => {
        const timer = setImmediate(resolve);
        void started.settled.then(() => {
          clearImmediate(timer);
          resolve();
        });
      });
      if (!run.done) return { phase: 'running', state: { started: true }, checkAgainAfterMs: RECHECK_MS };
    } else if (run.ctx !== ctx) {
      run.ctx = ctx;
    }
    if (!run.done) return { phase: 'running', checkAgainAfterMs: RECHECK_MS };
    this.running.delete(key);
    if (run.error === undefined && run.outputs !== undefined) {
      try {
        await ctx.outputs.write(run.outputs, { signal: run.signal });
      } catch (error) {
        run.error = error ?? new Error('the outputs could not be written');
      }
    }
    if (run.error === undefined) return { phase: 'success', state: { started: true } };
    const error = run.error;
    const name = error instanceof Error ? error.name : 'Error';
    const message = error instanceof Error ? error.message : String(error);
    if (run.signal.aborted) {
      return { phase: 'retryable-failure', error: { code: 'Aborted', message, kind: 'system' } };
    }
    if (error instanceof NodeFailure) {
      // The engine refused what the task produced (outputs above the size limit, ...).
      return {
        phase: error.retryable ? 'retryable-failure' : 'permanent-failure',
        state: { started: true },
        error: { code: error.code, message: error.message, kind: error.kind },
      };
    }
    if ((error as { code?: unknown } | null)?.code === 'NESTING_TOO_DEEP') {
      // A value nesting too deep (the function's outputs, in-process or from a worker): another attempt returns
      // the same.
      return {
        phase: 'permanent-failure',
        state: { started: true },
        error: { code: 'NESTING_TOO_DEEP', message, kind: 'user' },
      };
    }
    if (error instanceof WorkerLoadError) {
      return { phase: 'permanent-failure', error: { code: 'FunctionNotFound', message, kind: 'system' } };
    }
    if (error instanceof WorkerCrashError) {
      return {
        phase: 'retryable-failure',
        state: { started: true },
        error: { code: 'WorkerExited', message, kind: 'system' },
      };
    }
    return {
      phase: 'retryable-failure',
      state: { started: true },
      error: { code: `USER:${name}`, message, kind: 'user' },
    };
  }

  /**
   * The function stops through its signal, the attempt's signal of the `handle` that started it, which the engine
   * aborts before it calls `abort` (outside an engine, abort that signal). The attempt is given up: `finalize`
   * forgets it even if its function has not ended.
   */
  async abort(ctx: TaskContext<FunctionState>, _reason: string): Promise<void> {
    const run = this.running.get(ctx.metadata.generatedName);
    if (run !== undefined) run.abandoned = true;
  }

  /** @inheritDoc */
  async finalize(ctx: TaskContext<FunctionState>): Promise<void> {
    const run = this.running.get(ctx.metadata.generatedName);
    if (run === undefined || run.done || run.abandoned === true || run.signal.aborted) {
      this.running.delete(ctx.metadata.generatedName);
    }
    // Files the attempt downloaded go with it.
    const name = ctx.metadata.generatedName;
    if (this.workDirs.delete(name)) await rm(workDirOf(name), { recursive: true, force: true });
  }

  /** The data access of an attempt; its work directory is noted when a download asks for it. */
  private dataAccess(ctx: TaskContext<FunctionState>, signal: AbortSignal): DataAccess {
    return new AttemptData(ctx.blob, ctx.outputs.rawOutputPrefix, signal, ctx.metadata.generatedName, this.workDirs);
  }

  private addDependencies(entities: readonly Entity[]): void {
    for (const entity of entities) {
      if (entity.kind === 'task' && typeof (entity as Partial<TaskDefinition>).execute === 'function') {
        if (!this.tasks.has(entity.name)) this.add(entity as unknown as FunctionTask);
      } else if (entity.kind === 'workflow') {
        this.addDependencies(entity.dependencies());
      }
    }
  }

  private workers(): WorkerPool {
    this.pool ??= new WorkerPool(this.workerOptions);
    return this.pool;
  }

  private start(
    ctx: TaskContext<FunctionState>,
    definition: FunctionTask,
  ): { readonly run: Running; readonly settled: Promise<void> } {
    const signal = ctx.signal;
    const run: Running = { signal, ctx, done: false };
    this.running.set(ctx.metadata.generatedName, run);
    const data = this.dataAccess(ctx, signal);
    const context: TaskRunContext = {
      signal,
      attempt: ctx.metadata.attempt,
      execution: ctx.metadata.execution,
      rawOutputPrefix: ctx.outputs.rawOutputPrefix,
      data,
    };
    const job = () => this.runFunction(ctx, definition, context, run);
    // A free slot is taken at once (the usual case): no queue entry.
    let settled: Promise<void>;
    if (this.queue.tryAcquire()) {
      settled = job().finally(() => this.queue.release());
    } else {
      settled = this.queue.run(job);
    }
    return { run, settled };
  }

  /** Runs the function of an attempt and keeps its outputs; never rejects (the error is kept on `run`). */
  private async runFunction(
    ctx: TaskContext<FunctionState>,
    definition: FunctionTask,
    context: TaskRunContext,
    run: Running,
  ): Promise<void> {
    const signal = context.signal;
    try {
      const inputs = await ctx.inputs.read({ signal });
      signal.throwIfAborted();
      const expand = (definition as Partial<DynamicTaskDefinition<TypeMap, TypeMap>>).expand;
      if (expand !== undefined) {
        // A dynamic task writes the workflow to run instead of outputs; the engine runs it under the node.
        const id = ctx.template.id;
        const expansion = await expand(inputs, context, {
          project: id?.project ?? '',
          domain: id?.domain ?? '',
          version: id?.version ?? '',
          org: id?.org ?? '',
        });
        this.addDependencies(expansion.dependencies);
        signal.throwIfAborted();
        await ctx.blob.put(
          `${ctx.outputs.outputPrefix}/futures.pb`,
          toBinary(idl.core.DynamicJobSpecSchema, expansion.spec),
          { signal, contentType: 'application/x-protobuf' },
        );
        return;
      }
      const outputs =
        definition.config.worker === true && definition.config.module !== undefined
          ? await this.workers().run(
              {
                module: definition.config.module,
                name: definition.name,
                inputs,
                attempt: context.attempt,
                execution: ctx.metadata.execution,
                rawOutputPrefix: ctx.outputs.rawOutputPrefix,
                // Not noted yet: `data.workDir` is read (and noted) when the worker's task first uses it.
                workDir: workDirOf(ctx.metadata.generatedName),
              },
              signal,
              context.data,
            )
          : await definition.execute(inputs, context);
      signal.throwIfAborted();
      run.outputs = outputs;
    } catch (error) {
      run.error = error ?? new Error('the task failed');
    } finally {
      run.done = true;
      run.ctx.requestRecheck('function ended');
    }
  }
}
