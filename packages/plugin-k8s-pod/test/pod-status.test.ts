// Pod status → task phase, as Flyte classifies it (the README's table).
import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { podStatus } from '../src/index.js';

const now = new Date('2026-01-01T00:10:00Z');
const grace = {
  imagePullBackoffGraceMs: 60_000,
  createContainerErrorGraceMs: 60_000,
  createContainerConfigErrorGraceMs: 60_000,
};

function waiting(reason: string, since = '2026-01-01T00:09:30Z'): V1Pod {
  return {
    status: {
      phase: 'Pending',
      conditions: [
        { type: 'Ready', status: 'False', reason: 'ContainersNotReady', lastTransitionTime: new Date(since) },
      ],
      containerStatuses: [
        {
          name: 'main',
          image: 'x',
          imageID: '',
          ready: false,
          restartCount: 0,
          state: { waiting: { reason, message: 'm' } },
        },
      ],
    },
  };
}

function terminated(phase: string, exitCode: number, reason: string, podReason?: string): V1Pod {
  return {
    status: {
      phase,
      ...(podReason === undefined ? {} : { reason: podReason }),
      containerStatuses: [
        {
          name: 'main',
          image: 'x',
          imageID: '',
          ready: false,
          restartCount: 0,
          state: { terminated: { exitCode, reason, message: 'bye' } },
        },
      ],
    },
  };
}

describe('pod status mapping', () => {
  it('maps pending states to queued or initializing while they may resolve', () => {
    const unschedulable: V1Pod = {
      status: {
        phase: 'Pending',
        conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: 'no nodes' }],
      },
    };
    expect(podStatus(unschedulable, 'main', now, grace)).toMatchObject({
      phase: 'queued',
      reason: 'Unschedulable:no nodes',
    });
    for (const reason of [
      'ContainerCreating',
      'PodInitializing',
      'ErrImagePull',
      'ImagePullBackOff',
      'CreateContainerError',
      'CreateContainerConfigError',
    ]) {
      expect(podStatus(waiting(reason), 'main', now, grace).phase, reason).toBe('initializing');
    }
  });

  it('fails image pull back-off after its grace period as a retryable user error', () => {
    expect(podStatus(waiting('ImagePullBackOff', '2026-01-01T00:08:00Z'), 'main', now, grace)).toMatchObject({
      phase: 'retryable-failure',
      error: { code: 'ContainersNotReady|ImagePullBackOff', kind: 'user' },
    });
  });

  it('fails invalid image names at once and container config errors after their grace period, permanently', () => {
    expect(podStatus(waiting('InvalidImageName'), 'main', now, grace)).toMatchObject({
      phase: 'permanent-failure',
      error: { code: 'ContainersNotReady|InvalidImageName', kind: 'user' },
    });
    expect(podStatus(waiting('CreateContainerConfigError', '2026-01-01T00:08:00Z'), 'main', now, grace)).toMatchObject({
      phase: 'permanent-failure',
      error: { code: 'ContainersNotReady|CreateContainerConfigError' },
    });
  });

  it('fails unknown waiting reasons at once as system-retryable', () => {
    expect(podStatus(waiting('RunContainerError'), 'main', now, grace)).toMatchObject({
      phase: 'retryable-failure',
      error: { kind: 'system' },
    });
  });

  it('reports a non-zero exit of the primary container as a retryable user error with the exit code', () => {
    const status = podStatus(terminated('Failed', 3, 'Error'), 'main', now, grace);
    expect(status).toMatchObject({ phase: 'retryable-failure', error: { code: 'Error', kind: 'user' } });
    expect(status.error?.message).toContain('[main] terminated with exit code (3). Reason [Error]. Message: bye');
    // While the pod still runs (a sidecar), the primary's exit decides.
    expect(podStatus(terminated('Running', 2, 'Error'), 'main', now, grace)).toMatchObject({
      phase: 'retryable-failure',
    });
    expect(podStatus(terminated('Running', 0, 'Completed'), 'main', now, grace)).toMatchObject({ phase: 'success' });
  });

  it('reports OOMKilled as a retryable user error, even when the pod says it succeeded', () => {
    expect(podStatus(terminated('Failed', 137, 'OOMKilled'), 'main', now, grace)).toMatchObject({
      phase: 'retryable-failure',
      error: { code: 'OOMKilled', kind: 'user' },
    });
    expect(podStatus(terminated('Succeeded', 0, 'OOMKilled'), 'main', now, grace)).toMatchObject({
      error: { code: 'OOMKilled' },
    });
  });

  it('reports evictions and node shutdowns as system-retryable, and SIGKILLs as interruptions', () => {
    const evicted: V1Pod = { status: { phase: 'Failed', reason: 'Evicted', message: 'low on memory' } };
    expect(podStatus(evicted, 'main', now, grace)).toMatchObject({
      phase: 'retryable-failure',
      error: { code: 'Evicted', kind: 'system', message: 'low on memory' },
    });
    expect(podStatus(terminated('Failed', 1, 'Error', 'Shutdown'), 'main', now, grace)).toMatchObject({
      error: { code: 'Interrupted', kind: 'system' },
    });
    expect(podStatus(terminated('Failed', 137, 'Error'), 'main', now, grace)).toMatchObject({
      error: { code: 'Interrupted', kind: 'user' },
    });
  });

  it('maps Succeeded to success and Running to running', () => {
    expect(podStatus(terminated('Succeeded', 0, 'Completed'), 'main', now, grace).phase).toBe('success');
    expect(podStatus({ status: { phase: 'Running' } }, 'main', now, grace).phase).toBe('running');
    expect(podStatus({ status: { phase: 'Unknown' } }, 'main', now, grace).phase).toBe('running');
  });

  describe('with sidecars, only the primary container decides', () => {
    type State = { running: object } | { terminated: { exitCode: number; reason: string; message?: string } };
    const pod = (phase: string, primary: State, sidecar: State): V1Pod => ({
      status: {
        phase,
        containerStatuses: [
          { name: 'proxy', image: 'p', imageID: '', ready: false, restartCount: 0, state: sidecar },
          { name: 'main', image: 'x', imageID: '', ready: false, restartCount: 0, state: primary },
        ],
      },
    });
    const exited = (exitCode: number, reason = exitCode === 0 ? 'Completed' : 'Error') => ({
      terminated: { exitCode, reason, message: `exit ${exitCode}` },
    });
    const running = { running: {} };

    it('keeps running while the primary runs, even after a sidecar failed', () => {
      expect(podStatus(pod('Running', running, exited(1)), 'main', now, grace).phase).toBe('running');
    });

    it('succeeds when the primary exits 0 while a sidecar still runs', () => {
      expect(podStatus(pod('Running', exited(0), running), 'main', now, grace).phase).toBe('success');
    });

    it('succeeds when the pod failed only because of a sidecar', () => {
      expect(podStatus(pod('Failed', exited(0), exited(2)), 'main', now, grace).phase).toBe('success');
    });

    it("fails with the primary's exit, not a sidecar's OOMKilled, and names both containers", () => {
      const status = podStatus(pod('Failed', exited(3), exited(137, 'OOMKilled')), 'main', now, grace);
      expect(status).toMatchObject({ phase: 'retryable-failure', error: { code: 'Error', kind: 'user' } });
      expect(status.error?.message).toContain('[main] terminated with exit code (3)');
      expect(status.error?.message).toContain('[proxy] terminated with exit code (137)');
    });

    it('fails when the primary is OOMKilled while a sidecar runs', () => {
      expect(podStatus(pod('Running', exited(137, 'OOMKilled'), running), 'main', now, grace)).toMatchObject({
        phase: 'retryable-failure',
        error: { code: 'OOMKilled' },
      });
    });
  });
});
