// The engine's OpenTelemetry metrics, recorded into a meter that keeps every measurement.
import { createNoopMeter, type Attributes, type Histogram, type Meter } from '@opentelemetry/api';
import { t, task, workflow } from '@flyte-ts/core';
import { createEngine } from '@flyte-ts/executor';
import { MemoryBlobStore, MemoryStore } from '@flyte-ts/store-memory';
import { describe, expect, it } from 'vitest';
import { execId, phaseOf, settings } from './support.js';

interface Measurement {
  readonly value: number;
  readonly attributes: Attributes;
}

/** A meter whose histograms keep what they record (the rest is the API's no-op meter). */
function recordingMeter(): { meter: Meter; recorded: Map<string, Measurement[]> } {
  const recorded = new Map<string, Measurement[]>();
  const noop = createNoopMeter();
  const meter: Meter = Object.assign(Object.create(noop) as Meter, {
    createHistogram(name: string): Histogram {
      const list: Measurement[] = [];
      recorded.set(name, list);
      return { record: (value: number, attributes: Attributes = {}) => void list.push({ value, attributes }) };
    },
  });
  return { meter, recorded };
}

describe('metrics', () => {
  it('record acceptance, queueing, transitions and durations, tagged project:domain:workflow', async () => {
    const { meter, recorded } = recordingMeter();
    const ok = task({ name: 'metrics.ok', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({ y: x }));
    const bad = task({ name: 'metrics.bad', inputs: { x: t.int() } }, () => {
      throw new Error('no');
    });
    const good = workflow({ name: 'metrics.good', inputs: { x: t.int() }, outputs: { y: t.int() } }, ({ x }) => ({
      y: ok({ x: ok({ x }).y }).y,
    }));
    const failing = workflow({ name: 'metrics.failing', inputs: { x: t.int() } }, ({ x }) => {
      bad({ x });
    });
    const engine = createEngine({ store: new MemoryStore(), blob: new MemoryBlobStore(), meter });
    await engine.start();
    await engine.register([good, failing], settings);
    await engine.createExecution({ workflow: good.id(settings), name: 'm1', inputs: { x: 1 } });
    await engine.createExecution({ workflow: failing.id(settings), name: 'm2', inputs: { x: 1 } });
    expect(phaseOf(await engine.waitForExecution(execId('m1')))).toBe('SUCCEEDED');
    expect(phaseOf(await engine.waitForExecution(execId('m2')))).toBe('FAILED');
    await engine.stop();

    const scope = (name: string) => `${settings.project}:${settings.domain}:${name}`;
    const scopes = (metric: string) => (recorded.get(metric) ?? []).map((m) => m.attributes.scope);
    expect(scopes('flyte.execution.acceptance_latency').sort()).toEqual([
      scope('metrics.failing'),
      scope('metrics.good'),
    ]);
    expect(scopes('flyte.execution.success_duration')).toEqual([scope('metrics.good')]);
    expect(scopes('flyte.execution.failure_duration')).toEqual([scope('metrics.failing')]);
    expect(scopes('flyte.execution.completion_latency')).toHaveLength(2);
    // Three task nodes waited to run: two in the good workflow, one in the failing one.
    expect(scopes('flyte.node.queueing_latency').filter((s) => s === scope('metrics.good'))).toHaveLength(2);
    expect(scopes('flyte.node.queueing_latency').filter((s) => s === scope('metrics.failing'))).toHaveLength(1);
    const commits = recorded.get('flyte.execution.transition_latency') ?? [];
    expect(commits.length).toBeGreaterThan(0);
    const rows = (recorded.get('flyte.execution.rows_per_commit') ?? []).map((m) => m.value);
    expect(rows.every((n) => Number.isInteger(n) && n >= 0)).toBe(true);
    for (const metric of recorded.values()) {
      for (const m of metric) {
        expect(m.value).toBeGreaterThanOrEqual(0);
        expect(m.attributes).toMatchObject({ project: settings.project, domain: settings.domain });
      }
    }
  });
});
