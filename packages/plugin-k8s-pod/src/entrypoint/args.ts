// The command line of `flyte-ts-execute`, as TaskTemplate.container.args of a `task()` definition spell it:
//   flyte-ts-execute --inputs <uri> --output-prefix <uri> --raw-output-data-prefix <uri>
//     [--checkpoint-path <uri>] [--prev-checkpoint <uri>] -- [task-module <module>] task-name <name>

/** The parsed command line of `flyte-ts-execute`. */
export interface ExecuteArgs {
  /** URI of the task's inputs (`.../inputs.pb`, a LiteralMap). */
  readonly inputs: string;
  /** Prefix the outputs (`outputs.pb`) or the error (`error.pb`) are written under. */
  readonly outputPrefix: string;
  /** Prefix the task's raw data (returned files, directories, datasets) is uploaded under. */
  readonly rawOutputDataPrefix: string;
  /** Where the task may write a checkpoint, if given. */
  readonly checkpointPath?: string | undefined;
  /** The previous attempt's checkpoint, if any (`""` and empty mean none). */
  readonly prevCheckpoint?: string | undefined;
  /** The module exporting the task: a file URL, a path or a package specifier. */
  readonly taskModule?: string | undefined;
  /** The task's Flyte name. */
  readonly taskName: string;
}

/** A command line `flyte-ts-execute` cannot run. */
export class ExecuteUsageError extends Error {
  /** @param message what is wrong */
  constructor(message: string) {
    super(message);
    this.name = 'ExecuteUsageError';
  }
}

/** How to call `flyte-ts-execute`. */
export const EXECUTE_USAGE =
  'usage: flyte-ts-execute --inputs <uri> --output-prefix <uri> --raw-output-data-prefix <uri> ' +
  '[--checkpoint-path <uri>] [--prev-checkpoint <uri>] -- [task-module <module>] task-name <name>';

const OPTIONS = {
  '--inputs': 'inputs',
  '--output-prefix': 'outputPrefix',
  '--raw-output-data-prefix': 'rawOutputDataPrefix',
  '--checkpoint-path': 'checkpointPath',
  '--prev-checkpoint': 'prevCheckpoint',
} as const;

const RESOLVER_KEYS = { 'task-module': 'taskModule', 'task-name': 'taskName' } as const;

/**
 * Parses the arguments of `flyte-ts-execute` (without the program name). Options take their value as the next
 * argument or after `=`; after `--` come the resolver's key-value pairs `task-module` and `task-name`.
 * @throws {ExecuteUsageError} for an unknown, repeated or valueless option or key, or a missing required one
 */
export function parseExecuteArgs(argv: readonly string[]): ExecuteArgs {
  const values: Partial<Record<(typeof OPTIONS)[keyof typeof OPTIONS] | 'taskModule' | 'taskName', string>> = {};
  const set = (key: keyof typeof values, value: string | undefined, given: string) => {
    if (value === undefined) throw new ExecuteUsageError(`${given} needs a value`);
    if (values[key] !== undefined) throw new ExecuteUsageError(`${given} is given twice`);
    values[key] = value;
  };
  let at = 0;
  for (; at < argv.length && argv[at] !== '--'; at++) {
    const arg = argv[at]!;
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg : arg.slice(0, eq);
    const key = Object.hasOwn(OPTIONS, name) ? OPTIONS[name as keyof typeof OPTIONS] : undefined;
    if (key === undefined) throw new ExecuteUsageError(`unknown argument ${arg}`);
    set(key, eq < 0 ? argv[++at] : arg.slice(eq + 1), name);
  }
  for (at++; at < argv.length; at += 2) {
    const name = argv[at]!;
    const key = Object.hasOwn(RESOLVER_KEYS, name) ? RESOLVER_KEYS[name as keyof typeof RESOLVER_KEYS] : undefined;
    if (key === undefined) throw new ExecuteUsageError(`unknown resolver argument ${name}`);
    set(key, argv[at + 1], name);
  }
  for (const required of ['--inputs', '--output-prefix', '--raw-output-data-prefix'] as const) {
    if ((values[OPTIONS[required]] ?? '') === '') throw new ExecuteUsageError(`${required} is required`);
  }
  if ((values.taskName ?? '') === '') throw new ExecuteUsageError('task-name is required (after --)');
  const optional = (value: string | undefined) =>
    value === undefined || value === '' || value === '""' ? undefined : value;
  return {
    inputs: values.inputs!,
    outputPrefix: values.outputPrefix!,
    rawOutputDataPrefix: values.rawOutputDataPrefix!,
    checkpointPath: optional(values.checkpointPath),
    prevCheckpoint: optional(values.prevCheckpoint),
    taskModule: optional(values.taskModule),
    taskName: values.taskName!,
  };
}
