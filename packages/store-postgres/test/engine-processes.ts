// Engine processes for the reliability and chaos tests: start `fixtures/engine-process.ts` as a child process, read
// its line protocol, stop it cleanly (SIGTERM) or kill it (SIGKILL), and wait for conditions on shared state.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const child = fileURLToPath(new URL('./fixtures/engine-process.ts', import.meta.url));

/** A running engine process. */
export interface EngineProcess {
  /** The id given to it (its engines' ids derive from it). */
  readonly id: string;
  readonly process: ChildProcess;
  /** Every line it printed so far. */
  readonly output: string[];
  /** Resolves when it printed `ready`; rejects if it exited before. */
  readonly ready: Promise<void>;
  /** Resolves when it has exited (however). */
  readonly exited: Promise<void>;
  /** What it printed on standard error. */
  stderr(): string;
}

/** Options of {@link spawnEngineProcess}. */
export interface EngineProcessOptions {
  /** Its ENGINE_ID. */
  readonly id: string;
  /** Environment of the child, over this process's (see fixtures/engine-process.ts for the variables it reads). */
  readonly env: Readonly<Record<string, string>>;
  /** Called with each line it prints, as it prints it. */
  readonly onLine?: (line: string) => void;
}

/** Starts an engine process; see `ready` for when it runs. */
export function spawnEngineProcess(options: EngineProcessOptions): EngineProcess {
  const proc = spawn(process.execPath, ['--import', 'tsx', '--conditions=@flyte-ts/source', child], {
    cwd: repo,
    env: { ...process.env, ...options.env, ENGINE_ID: options.id },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  let stderr = '';
  proc.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(proc, 'exit').then(() => undefined);
  const lines = createInterface({ input: proc.stdout! });
  const ready = new Promise<void>((resolve, reject) => {
    lines.on('line', (line) => {
      output.push(line);
      options.onLine?.(line);
      if (line === 'ready') resolve();
    });
    void exited.then(() =>
      reject(
        new Error(
          `engine process ${options.id} exited (${proc.exitCode ?? proc.signalCode}) before it was ready: ${stderr.slice(-4_000)}`,
        ),
      ),
    );
  });
  // A process killed before it was ready is no error of its own: whoever waits on `ready` sees the rejection.
  ready.catch(() => undefined);
  return { id: options.id, process: proc, output, ready, exited, stderr: () => stderr };
}

/** Starts an engine process; resolves once it is ready. */
export async function startEngineProcess(options: EngineProcessOptions): Promise<EngineProcess> {
  const started = spawnEngineProcess(options);
  await started.ready;
  return started;
}

/** Stops an engine process cleanly (SIGTERM); resolves to the number of executions it drove to their end. */
export async function stopEngineProcess(p: EngineProcess): Promise<number> {
  if (isAlive(p)) p.process.kill('SIGTERM');
  await p.exited;
  const summary = p.output.find((line) => line.startsWith('{'));
  return (JSON.parse(summary ?? '{"ended":-1}') as { ended: number }).ended;
}

/** Kills an engine process with SIGKILL; resolves once it has exited (its resources, such as files, are free). */
export async function killEngineProcess(p: EngineProcess): Promise<void> {
  if (isAlive(p)) p.process.kill('SIGKILL');
  await p.exited;
}

/** Whether it has not exited yet. */
export function isAlive(p: EngineProcess): boolean {
  return p.process.exitCode === null && p.process.signalCode === null;
}

/** Resolves with the first value `probe` gives (probing every 25 ms). */
export async function waitFor<T>(probe: () => Promise<T | undefined>): Promise<T> {
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    await sleep(25);
  }
}

/** The lines of a log file that processes append to (none when it does not exist yet). */
export async function logLines(file: string): Promise<string[][]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.split(' '));
}
