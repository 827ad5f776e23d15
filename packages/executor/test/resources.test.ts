// Kubernetes quantities and Flyte's resource adjustment rules, on their own.
import { create } from '@bufbuild/protobuf';
import { idl } from '@flyte-ts/core';
import { describe, expect, it } from 'vitest';
import { applyPlatformResources, platformResources, quantityValue } from '../src/runtime/resources.js';

const RN = idl.core.Resources_ResourceName;

function resources(requests: Record<string, string>, limits: Record<string, string> = {}): idl.core.Resources {
  const list = (map: Record<string, string>) =>
    Object.entries(map).map(([name, value]) => ({
      name: RN[name.toUpperCase() as keyof typeof RN],
      value,
    }));
  return create(idl.core.ResourcesSchema, { requests: list(requests), limits: list(limits) });
}

function named(r: idl.core.Resources | undefined) {
  const map = (entries: readonly idl.core.Resources_ResourceEntry[] | undefined) =>
    Object.fromEntries((entries ?? []).map((e) => [RN[e.name]!.toLowerCase(), e.value]));
  return { requests: map(r?.requests), limits: map(r?.limits) };
}

describe('resource quantities', () => {
  it('are compared by value across suffixes', () => {
    expect(quantityValue('500m', 'x')).toBe(0.5);
    expect(quantityValue('1.5', 'x')).toBe(1.5);
    expect(quantityValue('1Ki', 'x')).toBe(1024);
    expect(quantityValue('1k', 'x')).toBe(1000);
    expect(quantityValue('1e3', 'x')).toBe(1000);
    expect(quantityValue('2Gi', 'x')).toBeGreaterThan(quantityValue('2G', 'x'));
    expect(() => quantityValue('1 GB', 'task.memory')).toThrow(expect.objectContaining({ id: 'task.memory' }));
    expect(() => quantityValue('', 'x')).toThrow();
  });
});

describe('platform resources', () => {
  const platform = platformResources({
    project: 'p',
    domain: 'd',
    taskResourceDefaults: { cpu: '500m', memory: '1Gi' },
    taskResourceLimits: { cpu: '2', memory: '4Gi' },
  });

  it('leave resources alone when the project-domain sets none', () => {
    const task = resources({ cpu: '9' });
    expect(applyPlatformResources(task, platformResources(undefined))).toBe(task);
    expect(applyPlatformResources(undefined, platformResources({ project: 'p', domain: 'd' }))).toBeUndefined();
  });

  it('give a task that asks nothing the defaults, as request and limit', () => {
    expect(named(applyPlatformResources(undefined, platform))).toEqual({
      requests: { cpu: '500m', memory: '1Gi' },
      limits: { cpu: '500m', memory: '1Gi' },
    });
  });

  it('take a missing request from the limit and a missing limit from the request', () => {
    expect(named(applyPlatformResources(resources({ cpu: '1' }, { memory: '2Gi' }), platform))).toEqual({
      requests: { cpu: '1', memory: '2Gi' },
      limits: { cpu: '1', memory: '2Gi' },
    });
  });

  it('cap requests and limits at the platform limit, and requests at the limit', () => {
    expect(named(applyPlatformResources(resources({ cpu: '1500m', memory: '8Gi' }, { cpu: '8' }), platform))).toEqual({
      requests: { cpu: '1500m', memory: '4Gi' },
      limits: { cpu: '2', memory: '4Gi' },
    });
    expect(named(applyPlatformResources(resources({ cpu: '1' }, { cpu: '500m' }), platform))).toEqual({
      requests: { cpu: '500m', memory: '1Gi' },
      limits: { cpu: '500m', memory: '1Gi' },
    });
  });
});
