// Who a process is, recorded so that another process can tell later whether it still runs. A pid alone cannot
// tell: pids are reused (a container's pid 1 is pid 1 again after every restart). On Linux the start time of
// the process, the boot and the PID namespace tell a reused pid from the process that was recorded.
import { readFile, readlink } from 'node:fs/promises';
import { hostname } from 'node:os';

/** A process as another process may judge it later. */
export interface ProcessIdentity {
  /** Its pid (in its PID namespace). */
  readonly pid: number;
  /** The host it runs on (`os.hostname()`). */
  readonly host: string;
  /** Its start time, in clock ticks after boot (field 22 of `/proc/<pid>/stat`); Linux only. */
  readonly startTime?: string | undefined;
  /** The boot it runs in (`/proc/sys/kernel/random/boot_id`); Linux only. */
  readonly bootId?: string | undefined;
  /** Its PID namespace (the target of `/proc/self/ns/pid`, e.g. `pid:[4026531836]`); Linux only. */
  readonly pidNamespace?: string | undefined;
}

/**
 * What can be told of a recorded process from here: it still `running`, it is `gone` (it exited, the pid now
 * names another process, or the machine rebooted), or it is `elsewhere` (another host, or another PID namespace
 * such as another container), where its pid tells nothing: the lock judges it by its heartbeat instead.
 */
export type Liveness = 'running' | 'gone' | 'elsewhere';

/** The identity of this process. */
export async function currentProcess(): Promise<ProcessIdentity> {
  const [startTime, bootId, pidNamespace] = await Promise.all([
    startTimeOf(process.pid),
    readFile('/proc/sys/kernel/random/boot_id', 'utf8').then(
      (text) => text.trim(),
      () => undefined,
    ),
    readlink('/proc/self/ns/pid').catch(() => undefined),
  ]);
  return { pid: process.pid, host: hostname(), startTime, bootId, pidNamespace };
}

/**
 * Judges a recorded process from this one. Where it cannot be told, the answer errs towards `running` (or
 * `elsewhere`), never towards `gone`: a wrong `gone` would let two processes in.
 * @param recorded the process as it was recorded
 * @param self this process, from {@link currentProcess}
 */
export async function liveness(recorded: ProcessIdentity, self: ProcessIdentity): Promise<Liveness> {
  if (recorded.host !== self.host) return 'elsewhere';
  if (recorded.bootId !== undefined && self.bootId !== undefined && recorded.bootId !== self.bootId) return 'gone';
  // Pids of another PID namespace mean nothing here; when only one side knows its namespace, assume another.
  if (recorded.pidNamespace !== self.pidNamespace) return 'elsewhere';
  try {
    process.kill(recorded.pid, 0);
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return 'gone';
  }
  if (recorded.startTime === undefined) return 'running';
  // Unreadable (`/proc` mounted with hidepid, or no `/proc`) while the pid exists: it may be the recorded one.
  const startTime = await startTimeOf(recorded.pid);
  return startTime === undefined || startTime === recorded.startTime ? 'running' : 'gone';
}

/** True when `pid` is a process id that `process.kill(pid, 0)` probes alone (0 and negatives name groups). */
export function isProcessId(pid: unknown): pid is number {
  return typeof pid === 'number' && Number.isSafeInteger(pid) && pid > 0;
}

async function startTimeOf(pid: number): Promise<string | undefined> {
  let stat: string;
  try {
    stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces and parentheses: count after the last `)`.
  // What follows starts with field 3 (state); the start time is field 22.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const startTime = fields[22 - 3];
  return startTime !== undefined && /^[0-9]+$/.test(startTime) ? startTime : undefined;
}
