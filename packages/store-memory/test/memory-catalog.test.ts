// MemoryCatalog beyond the contract: artifacts shaped as Flyte's Data Catalog stores them.
import { create } from '@bufbuild/protobuf';
import { timestampMs } from '@bufbuild/protobuf/wkt';
import { describe, expect, it } from 'vitest';
import { executionId, idl, nodeExecutionId, taskId } from '@flyte-ts/core';
import { ARTIFACT_METADATA_KEYS, MemoryCatalog } from '@flyte-ts/store-memory';

describe('MemoryCatalog', () => {
  it("records the source execution under Flyte's metadata keys, and created_at from its clock", async () => {
    const now = new Date(Date.UTC(2024, 4, 1));
    const catalog = new MemoryCatalog({ clock: { now: () => now, sleep: async () => {} } });
    const key = {
      dataset: create(idl.datacatalog.DatasetIDSchema, {
        project: 'p',
        domain: 'd',
        name: 'flyte_task-t',
        version: '1-a-b',
      }),
      tag: 'flyte_cached-x',
    };
    const source = create(idl.core.TaskExecutionIdentifierSchema, {
      taskId: taskId({ project: 'p', domain: 'd', name: 't', version: 'v3' }),
      nodeExecutionId: nodeExecutionId(executionId({ project: 'p', domain: 'd', name: 'exec', org: 'o' }), 'n1'),
      retryAttempt: 2,
    });
    const entry = await catalog.put(key, create(idl.core.LiteralMapSchema), { source });
    expect(entry.artifact.metadata?.keyMap).toEqual({
      [ARTIFACT_METADATA_KEYS.taskVersion]: 'v3',
      [ARTIFACT_METADATA_KEYS.executionName]: 'exec',
      [ARTIFACT_METADATA_KEYS.executionDomain]: 'd',
      [ARTIFACT_METADATA_KEYS.executionProject]: 'p',
      [ARTIFACT_METADATA_KEYS.nodeId]: 'n1',
      [ARTIFACT_METADATA_KEYS.attempt]: '2',
      [ARTIFACT_METADATA_KEYS.org]: 'o',
    });
    expect(timestampMs(entry.artifact.createdAt!)).toBe(now.getTime());
    expect(entry.artifact.tags[0]?.artifactId).toBe(entry.artifact.id);
  });

  it('reports the reservation expiry as now + heartbeat', async () => {
    const catalog = new MemoryCatalog();
    const key = { dataset: create(idl.datacatalog.DatasetIDSchema, { name: 'd' }), tag: 't' };
    const { reservation } = await catalog.getOrExtendReservation(key, 'me', { heartbeatMs: 5000, now: new Date(1000) });
    expect(timestampMs(reservation.expiresAt!)).toBe(6000);
  });
});
