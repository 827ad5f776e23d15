// Pod status → task phase, with Flyte's classification (flytek8s DemystifyPending / DemystifyFailure and the pod
// plugin's primary-container rule). The table is in the package README.
import type { V1ContainerStateTerminated, V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import type { K8sResourceStatus } from '../machinery/resource-plugin.js';

/** Grace periods of transient-looking pending states (ms). */
export interface PodStatusOptions {
  /** How long ImagePullBackOff is tolerated before a retryable failure (Flyte default 3 min). */
  readonly imagePullBackoffGraceMs: number;
  /** How long CreateContainerError is tolerated before a permanent failure (Flyte default 3 min). */
  readonly createContainerErrorGraceMs: number;
  /** How long CreateContainerConfigError is tolerated before a permanent failure (Flyte default 3 min). */
  readonly createContainerConfigErrorGraceMs: number;
}

/** Flyte's code for a container killed by the kernel for exceeding its memory limit. */
export const OOM_KILLED = 'OOMKilled';
/** Flyte's code for node shutdowns and SIGKILLed containers. */
export const INTERRUPTED = 'Interrupted';

/**
 * Reads a pod's status: the phase of the task whose primary container is `primary`. `now` is the engine's time,
 * compared with condition transition times for grace periods.
 */
export function podStatus(pod: V1Pod, primary: string, now: Date, options: PodStatusOptions): K8sResourceStatus {
  const status = pod.status;
  switch (status?.phase) {
    case 'Succeeded':
      for (const c of allStatuses(pod)) {
        if (c.state?.terminated?.reason?.includes(OOM_KILLED) === true) {
          return failure('retryable-failure', OOM_KILLED, 'Pod reported success despite being OOMKilled', 'user');
        }
      }
      return { phase: 'success', occurredAt: lastTransition(pod) };
    case 'Failed': {
      // Only the primary container decides: a pod failed by a sidecar after its primary succeeded is a success.
      const terminated = primaryTermination(pod, primary);
      if (
        terminated !== undefined &&
        terminated.exitCode === 0 &&
        terminated.reason?.includes(OOM_KILLED) !== true &&
        !SYSTEM_REASONS.includes(status.reason ?? '')
      ) {
        return { phase: 'success', occurredAt: terminated.finishedAt ?? undefined };
      }
      return demystifyFailure(pod, primary);
    }
    case 'Running':
      return primaryContainerPhase(pod, primary);
    case 'Pending':
      return demystifyPending(pod, now, options);
    default:
      // Unknown (the node stopped reporting): wait; a deleted pod or the pending timeout ends it.
      return { phase: 'running', reason: `pod phase ${status?.phase ?? 'unset'}` };
  }
}

function allStatuses(pod: V1Pod): V1ContainerStatus[] {
  const s = pod.status;
  return [
    ...(s?.initContainerStatuses ?? []),
    ...(s?.containerStatuses ?? []),
    ...(s?.ephemeralContainerStatuses ?? []),
  ];
}

function failure(
  phase: 'retryable-failure' | 'permanent-failure',
  code: string,
  message: string,
  kind: 'user' | 'system',
): K8sResourceStatus {
  return { phase, reason: `${code}: ${message}`, error: { code, message, kind } };
}

function primaryContainerPhase(pod: V1Pod, primary: string): K8sResourceStatus {
  const s = (pod.status?.containerStatuses ?? []).find((c) => c.name === primary);
  if (s === undefined) return { phase: 'running' };
  const terminated = s.state?.terminated;
  if (terminated === undefined) return { phase: 'running' };
  if (terminated.exitCode !== 0 || terminated.reason?.includes(OOM_KILLED) === true) {
    // The primary decides: a sidecar may still run, the task is over.
    return failure(
      'retryable-failure',
      terminated.reason ?? 'Error',
      containerMessage(s.name, terminated.exitCode, terminated.reason, terminated.message),
      'user',
    );
  }
  return { phase: 'success', occurredAt: terminated.finishedAt ?? undefined };
}

function containerMessage(
  name: string,
  exitCode: number,
  reason: string | undefined,
  message: string | undefined,
): string {
  return `[${name}] terminated with exit code (${exitCode}). Reason [${reason ?? ''}]. Message: ${message ?? ''}`.trim();
}

/** Pod reasons of node shutdowns, evictions and node loss: the infrastructure's failures, not the task's. */
const SYSTEM_REASONS: readonly string[] = ['Shutdown', 'Terminated', 'Evicted', 'NodeLost'];

function primaryTermination(pod: V1Pod, primary: string): V1ContainerStateTerminated | undefined {
  const s = (pod.status?.containerStatuses ?? []).find((c) => c.name === primary);
  return s?.state?.terminated;
}

function demystifyFailure(pod: V1Pod, primary: string): K8sResourceStatus {
  const status = pod.status!;
  let code = status.reason !== undefined && status.reason !== '' ? status.reason : 'UnknownError';
  let message =
    status.message !== undefined && status.message !== ''
      ? status.message
      : 'Pod failed. No message received from kubernetes.';
  // Node shutdowns (GKE graceful shutdown: Shutdown or Terminated) are the infrastructure's, not the task's.
  const system = SYSTEM_REASONS.includes(code);
  // The primary container's termination classifies the failure when it has one (a sidecar's does not); else any
  // container's (an init container that failed, a primary that never started).
  const decisive = primaryTermination(pod, primary) === undefined ? undefined : primary;
  for (const c of allStatuses(pod)) {
    const terminated = c.lastState?.terminated ?? c.state?.terminated;
    if (terminated === undefined) continue;
    if (decisive !== undefined && c.name !== decisive) {
      if (terminated.exitCode !== 0) {
        message += `\n${containerMessage(c.name, terminated.exitCode, terminated.reason, terminated.message)}`;
      }
      continue;
    }
    if (terminated.reason?.includes(OOM_KILLED) === true) code = OOM_KILLED;
    else if (terminated.exitCode === 137) code = INTERRUPTED;
    // A plain non-zero exit: the container's reason (`Error`), like a primary container ending a running pod.
    else if (terminated.exitCode !== 0 && code === 'UnknownError') code = terminated.reason || 'Error';
    message +=
      terminated.exitCode === 0
        ? `\n[${c.name}] terminated with ExitCode 0.`
        : `\n${containerMessage(c.name, terminated.exitCode, terminated.reason, terminated.message)}`;
  }
  if (system) return failure('retryable-failure', code === 'Evicted' ? 'Evicted' : INTERRUPTED, message, 'system');
  return failure('retryable-failure', code, message, 'user');
}

function demystifyPending(pod: V1Pod, now: Date, options: PodStatusOptions): K8sResourceStatus {
  const status = pod.status!;
  for (const condition of status.conditions ?? []) {
    const since = condition.lastTransitionTime === undefined ? now : new Date(condition.lastTransitionTime);
    if (condition.type === 'PodScheduled' && condition.status === 'False') {
      // Waiting for capacity: queued (the pending timeout bounds it).
      return { phase: 'queued', reason: `${condition.reason ?? ''}:${condition.message ?? ''}`, occurredAt: since };
    }
    if (condition.type !== 'Ready' || condition.status !== 'False') continue;
    for (const c of status.containerStatuses ?? []) {
      const waiting = c.ready ? undefined : c.state?.waiting;
      if (waiting === undefined) continue;
      const reason = waiting.reason ?? '';
      const finalReason = `${condition.reason ?? ''}|${reason}`;
      const finalMessage = `${condition.message ?? ''}|${waiting.message ?? ''}`;
      const elapsed = now.getTime() - since.getTime();
      const initializing: K8sResourceStatus = {
        phase: 'initializing',
        reason: `[${finalReason}]: ${finalMessage}`,
        occurredAt: since,
      };
      const afterGrace = (ms: number) => `Grace period [${ms} ms] exceeded|${finalMessage}`;
      switch (reason) {
        case 'ErrImagePull':
        case 'ContainerCreating':
        case 'PodInitializing':
          return initializing;
        case 'CreateContainerError':
          return elapsed >= options.createContainerErrorGraceMs
            ? failure('permanent-failure', finalReason, afterGrace(options.createContainerErrorGraceMs), 'user')
            : initializing;
        case 'CreateContainerConfigError':
          return elapsed >= options.createContainerConfigErrorGraceMs
            ? failure('permanent-failure', finalReason, afterGrace(options.createContainerConfigErrorGraceMs), 'user')
            : initializing;
        case 'InvalidImageName':
          return failure('permanent-failure', finalReason, finalMessage, 'user');
        case 'ImagePullBackOff':
          return elapsed >= options.imagePullBackoffGraceMs
            ? failure('retryable-failure', finalReason, afterGrace(options.imagePullBackoffGraceMs), 'user')
            : initializing;
        default:
          // Any other waiting reason would leave the task queued until the pod is reaped: fail, system-retryable.
          return failure('retryable-failure', finalReason, finalMessage, 'system');
      }
    }
  }
  return { phase: 'queued', reason: 'pod pending' };
}

function lastTransition(pod: V1Pod): Date | undefined {
  let last: Date | undefined;
  for (const c of allStatuses(pod)) {
    const at = c.state?.terminated?.finishedAt ?? c.state?.running?.startedAt;
    if (at !== undefined && (last === undefined || new Date(at) > last)) last = new Date(at);
  }
  return last;
}
